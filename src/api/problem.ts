import { ERRORS, KalemError, type ErrorCode } from '../core/errors.js';

/**
 * Errors as RFC 9457 problem details (`application/problem+json`). `type` is a URN naming our
 * error code, `code` carries the code itself for programs, `detail` the same message the CLI
 * prints. Nothing else from an error (stack, cause, SQL) reaches a response.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  KALEM_ERR_UNAUTHENTICATED: 401,
  KALEM_ERR_FORBIDDEN: 403,
  KALEM_ERR_NOT_FOUND: 404,
  KALEM_ERR_UNKNOWN_ACCOUNT: 404,
  KALEM_ERR_UNKNOWN_AGENT: 404,
  KALEM_ERR_UNKNOWN_NUMBER: 404,
  KALEM_ERR_UNKNOWN_TRUNK: 404,
  KALEM_ERR_UNKNOWN_SECRET: 404,
  KALEM_ERR_UNKNOWN_CALL: 404,
  KALEM_ERR_UNKNOWN_TOKEN: 404,
  KALEM_ERR_NO_TRANSCRIPT: 404,
  KALEM_ERR_NO_RECORDING: 404,
  KALEM_ERR_DUPLICATE: 409,
  KALEM_ERR_NUMBER_TAKEN: 409,
  KALEM_ERR_IN_USE: 409,
  KALEM_ERR_BODY_TOO_LARGE: 413,
  KALEM_ERR_RATE_LIMITED: 429,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? (ERRORS[code].kind === 'usage' ? 400 : 500);
}

export function problem(code: ErrorCode, status: number, detail: string): Problem {
  return { type: `urn:kalem:error:${code}`, title: TITLES[status] ?? 'Error', status, detail, code };
}

export function problemFromKalemError(err: KalemError): Problem {
  return problem(err.code, statusOf(err.code), err.message);
}

/** JSON schema of a problem response (referenced by every route's error responses). */
export const PROBLEM_SCHEMA = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', description: 'urn:kalem:error:<code>' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'a KALEM_ERR_… code' },
    instance: { type: 'string' },
  },
} as const;
