/**
 * The one error type the Realtime adapter hands its callers.
 *
 * Like livekit agents-js' APIError family, every failure says whether trying again can help
 * (`retryable`) and what kind of failure it was, so the call controller can act on it without
 * parsing messages: `auth` or `quota` before answer → 503 to the carrier; a retryable failure
 * after answer → the reconnect policy. Codes are stable strings for logs and metrics; they live
 * here rather than in core/errors.ts because they never reach the CLI.
 *
 * Messages never contain the key, the Authorization header or the URL's credentials: they are
 * built only from status codes, error codes and event types.
 */

export type RealtimeErrorKind =
  /** The server refused the key (HTTP 401/403 on upgrade). Never retryable. */
  | 'auth'
  /** HTTP 429 or an `insufficient_quota`/rate-limit error: the account is out of quota. */
  | 'quota'
  /** The socket could not be opened or dropped without a close handshake. */
  | 'network'
  /** A wait ran out of time (connect, session.updated…). */
  | 'timeout'
  /** The server ended the session at its maximum duration. */
  | 'session_limit'
  /** A 5xx on upgrade, or the server closed the socket with a server-side close code. */
  | 'server'
  /** The server refused one of our events, or spoke something we cannot parse. */
  | 'protocol'
  /** The session was closed on purpose (close() called, or the call ended). */
  | 'closed';

export const REALTIME_ERROR_CODES = {
  auth: 'KALEM_ERR_REALTIME_AUTH',
  quota: 'KALEM_ERR_REALTIME_QUOTA',
  network: 'KALEM_ERR_REALTIME_NETWORK',
  timeout: 'KALEM_ERR_REALTIME_TIMEOUT',
  session_limit: 'KALEM_ERR_REALTIME_SESSION_LIMIT',
  server: 'KALEM_ERR_REALTIME_SERVER',
  protocol: 'KALEM_ERR_REALTIME_PROTOCOL',
  closed: 'KALEM_ERR_REALTIME_CLOSED',
} as const satisfies Record<RealtimeErrorKind, string>;

export type RealtimeErrorCode = (typeof REALTIME_ERROR_CODES)[RealtimeErrorKind];

/** Which kinds may succeed on a fresh attempt. */
const RETRYABLE: Record<RealtimeErrorKind, boolean> = {
  auth: false,
  quota: false,
  network: true,
  timeout: true,
  session_limit: true,
  server: true,
  protocol: false,
  closed: false,
};

export interface RealtimeErrorDetails {
  /** HTTP status of a refused upgrade. */
  readonly status?: number;
  /** The server's own error code (`invalid_api_key`, `insufficient_quota`, `session_expired`…). */
  readonly serverCode?: string;
  /** WebSocket close code, when the socket closed. */
  readonly closeCode?: number;
  /** From a Retry-After header, when the server sent one. */
  readonly retryAfterMs?: number;
  /** Overrides the kind's default (a 429 that is a short rate limit is retryable). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

export class RealtimeError extends Error {
  readonly kind: RealtimeErrorKind;
  readonly code: RealtimeErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  readonly closeCode: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(kind: RealtimeErrorKind, message: string, details: RealtimeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RealtimeError';
    this.kind = kind;
    this.code = REALTIME_ERROR_CODES[kind];
    this.retryable = details.retryable ?? RETRYABLE[kind];
    this.status = details.status;
    this.serverCode = details.serverCode;
    this.closeCode = details.closeCode;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** What a log line may carry: no cause chain (a cause could quote a request). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      kind: this.kind,
      retryable: this.retryable,
      message: this.message,
      status: this.status,
      serverCode: this.serverCode,
      closeCode: this.closeCode,
    };
  }
}

export function isRealtimeError(err: unknown, kind?: RealtimeErrorKind): err is RealtimeError {
  return err instanceof RealtimeError && (kind === undefined || err.kind === kind);
}

/** Whether a failure is worth another attempt: only RealtimeErrors that say so. */
export function isRetryable(err: unknown): boolean {
  return err instanceof RealtimeError && err.retryable;
}
