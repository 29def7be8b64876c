/**
 * Coded errors from one registry (in the spirit of fastify's lib/errors.js).
 *
 * Every failure a caller can act on has a code here, a message template that says what to do,
 * and an exit class the CLI maps to a process exit code. Anything that is not a KalemError is a
 * bug and is reported as such (without its details reaching an operator's terminal verbatim).
 */

export type ErrorKind =
  /** The caller passed something malformed (CLI usage, bad E.164, bad CIDR…): exit 2. */
  | 'usage'
  /** A well-formed request that cannot be carried out (unknown account, duplicate number…): exit 1. */
  | 'failure';

interface ErrorSpec {
  readonly kind: ErrorKind;
  readonly message: string;
}

/** The registry. Messages may hold `%s` placeholders filled in order by `kalemError`. */
export const ERRORS = {
  KALEM_ERR_CONFIG_UNREADABLE: { kind: 'failure', message: 'cannot read config file %s: %s' },
  KALEM_ERR_CONFIG_SYNTAX: { kind: 'failure', message: 'config file %s is not valid TOML: %s' },
  KALEM_ERR_CONFIG_INVALID: { kind: 'failure', message: 'invalid config: %s' },
  KALEM_ERR_MASTER_KEY_MISSING: {
    kind: 'failure',
    message: 'master key not found at %s; create one with `kalem keys init` or set [keys] master_key_file',
  },
  KALEM_ERR_MASTER_KEY_UNSAFE: { kind: 'failure', message: 'master key file %s is refused: %s' },
  KALEM_ERR_MASTER_KEY_INVALID: { kind: 'failure', message: 'master key file %s is invalid: %s' },
  KALEM_ERR_MASTER_KEY_EXISTS: {
    kind: 'failure',
    message: 'master key file %s already exists; refusing to overwrite it (move it away first if you really mean to)',
  },
  KALEM_ERR_WRONG_MASTER_KEY: {
    kind: 'failure',
    message: 'the master key does not open the key of account %s: wrong master key, or the wrapped key was tampered with',
  },
  KALEM_ERR_MASTER_KEY_MISMATCH: {
    kind: 'failure',
    message:
      'the master key at %s is not the one this database was sealed with; point [keys] master_key_file at the right key',
  },
  KALEM_ERR_SECRET_TAMPERED: {
    kind: 'failure',
    message:
      'secret %s of account %s does not open: it was tampered with, or copied from another row or account',
  },
  KALEM_ERR_DB_TOO_NEW: {
    kind: 'failure',
    message: 'database %s has schema version %s but this kalem only knows up to %s; upgrade kalem before using it',
  },
  KALEM_ERR_DB_NOT_MIGRATED: {
    kind: 'failure',
    message: 'database %s is at schema version %s, expected %s; run `kalem db migrate`',
  },
  KALEM_ERR_DB_NEEDS_KEY: {
    kind: 'failure',
    message: 'this migration re-seals stored call data and needs the master key (%s); run `kalem db migrate` where the key is readable',
  },
  KALEM_ERR_DB_OPEN: { kind: 'failure', message: 'cannot open database %s: %s' },
  KALEM_ERR_DB_CORRUPT: {
    kind: 'failure',
    message: 'database %s fails its integrity check (%s); restore it from a backup (`kalem db check` lists every problem)',
  },
  KALEM_ERR_INVALID_E164: { kind: 'usage', message: 'not a valid E.164 phone number: %s' },
  KALEM_ERR_INVALID_CIDR: { kind: 'usage', message: 'not a valid IPv4 or IPv6 address or CIDR: %s' },
  KALEM_ERR_INVALID_ARGUMENT: { kind: 'usage', message: '%s' },
  KALEM_ERR_UNKNOWN_ACCOUNT: { kind: 'failure', message: 'no account %s; list them with `kalem account list`' },
  KALEM_ERR_UNKNOWN_AGENT: { kind: 'failure', message: 'no agent %s in account %s; list them with `kalem agent list`' },
  KALEM_ERR_UNKNOWN_NUMBER: { kind: 'failure', message: 'number %s is not provisioned in account %s' },
  KALEM_ERR_UNKNOWN_TRUNK: { kind: 'failure', message: 'no trunk %s in account %s' },
  KALEM_ERR_UNKNOWN_SECRET: { kind: 'failure', message: 'no secret %s in account %s' },
  KALEM_ERR_UNKNOWN_CALL: { kind: 'failure', message: 'no call %s in account %s; list them with `kalem calls list`' },
  KALEM_ERR_NO_TRANSCRIPT: {
    kind: 'failure',
    message: 'call %s in account %s has no stored transcript (its agent does not store transcripts, or none was written)',
  },
  KALEM_ERR_TRANSCRIPT_TAMPERED: {
    kind: 'failure',
    message: 'the transcript of call %s in account %s does not open: it was tampered with, or copied from another call or account',
  },
  KALEM_ERR_NO_RECORDING: { kind: 'failure', message: 'call %s in account %s has no stored recording (its agent does not record, or it was erased)' },
  KALEM_ERR_RECORDING_TAMPERED: {
    kind: 'failure',
    message: 'the recording of call %s in account %s does not open: it was tampered with, or belongs to another call or account; nothing was written',
  },
  KALEM_ERR_RECORDING_TRUNCATED: {
    kind: 'failure',
    message: 'the recording of call %s in account %s is truncated: it ends before its final chunk (%s); nothing was written',
  },
  KALEM_ERR_DUPLICATE: { kind: 'failure', message: '%s' },
  KALEM_ERR_NUMBER_TAKEN: {
    kind: 'failure',
    message: 'number %s is already provisioned (to another account or agent); remove it there first',
  },
  KALEM_ERR_IN_USE: { kind: 'failure', message: '%s' },
  KALEM_ERR_SECRET_INPUT: { kind: 'usage', message: '%s' },
  // Admin API (src/api): each maps to an HTTP status in src/api/problem.ts.
  KALEM_ERR_UNAUTHENTICATED: { kind: 'failure', message: '%s' },
  KALEM_ERR_FORBIDDEN: { kind: 'failure', message: '%s' },
  KALEM_ERR_RATE_LIMITED: { kind: 'failure', message: '%s' },
  KALEM_ERR_NOT_FOUND: { kind: 'failure', message: '%s' },
  KALEM_ERR_BODY_TOO_LARGE: { kind: 'usage', message: '%s' },
  KALEM_ERR_INTERNAL: { kind: 'failure', message: 'internal error; the daemon log has the details (request %s)' },
  KALEM_ERR_UNKNOWN_TOKEN: { kind: 'failure', message: 'no active API token %s; list them with `kalem token list`' },
  KALEM_ERR_UNKNOWN_KB: { kind: 'failure', message: 'no knowledge base %s in account %s; list them with `kalem kb list`' },
  KALEM_ERR_UNKNOWN_KB_DOCUMENT: { kind: 'failure', message: 'no document %s in knowledge base %s; list them with `kalem kb docs`' },
  KALEM_ERR_KB_FORMAT: { kind: 'usage', message: '%s' },
  KALEM_ERR_KB_EMBEDDINGS: { kind: 'failure', message: '%s' },
  KALEM_ERR_KB_VECTOR_STORE: { kind: 'failure', message: '%s' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class KalemError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KalemError';
    this.code = code;
    this.kind = ERRORS[code].kind;
  }
}

/** Builds a coded error; `args` fill the template's `%s` placeholders in order. */
export function kalemError(code: ErrorCode, ...args: ReadonlyArray<string | number>): KalemError {
  let i = 0;
  const message = ERRORS[code].message.replace(/%s/g, () => String(args[i++] ?? ''));
  return new KalemError(code, message);
}

export function isKalemError(err: unknown, code?: ErrorCode): err is KalemError {
  return err instanceof KalemError && (code === undefined || err.code === code);
}
