/**
 * The one error type the webhook tool runner hands its callers, and what the model hears instead.
 *
 * Like RealtimeError, every failure has a kind the call controller can act on without parsing
 * messages, and a stable code for logs and metrics. Codes live here rather than in
 * core/errors.ts because they never reach the CLI.
 *
 * Messages are built only from the tool name, the URL's host (never its path or query, which may
 * carry a tenant's token), status codes and Node's network error codes. They never contain the
 * signing secret, the signature, the request body (the caller's words) or the response body.
 */

export type WebhookErrorKind =
  /** The URL is not a usable https:// URL (or http:// to loopback when allowed). */
  | 'invalid_url'
  /** The model's arguments are not a JSON object. */
  | 'invalid_arguments'
  /** No complete answer within the time limit (DNS, connect, TLS, headers and body together). */
  | 'timeout'
  /** The caller cancelled (the call ended, or the Realtime session dropped). */
  | 'aborted'
  /** DNS, connection, TLS certificate or a connection dropped mid-response. */
  | 'network'
  /** The receiver answered 3xx; redirects are never followed. */
  | 'redirect'
  /** The receiver answered with a status other than 2xx or 3xx. */
  | 'http_status'
  /** The response body is larger than the limit. */
  | 'too_large'
  /** The host is (or resolves to) a loopback, private, link-local or otherwise non-public address. */
  | 'blocked_address';

export const WEBHOOK_ERROR_CODES = {
  invalid_url: 'KALEM_ERR_WEBHOOK_INVALID_URL',
  invalid_arguments: 'KALEM_ERR_WEBHOOK_INVALID_ARGUMENTS',
  timeout: 'KALEM_ERR_WEBHOOK_TIMEOUT',
  aborted: 'KALEM_ERR_WEBHOOK_ABORTED',
  network: 'KALEM_ERR_WEBHOOK_NETWORK',
  redirect: 'KALEM_ERR_WEBHOOK_REDIRECT',
  http_status: 'KALEM_ERR_WEBHOOK_HTTP_STATUS',
  blocked_address: 'KALEM_ERR_WEBHOOK_BLOCKED_ADDRESS',
  too_large: 'KALEM_ERR_WEBHOOK_TOO_LARGE',
} as const satisfies Record<WebhookErrorKind, string>;

export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[WebhookErrorKind];

export interface WebhookErrorDetails {
  /** The function tool's name, as the agent defines it. */
  readonly tool: string;
  /** `host[:port]` of the URL, when it parsed. */
  readonly host?: string;
  readonly accountId?: string;
  /** HTTP status, for `http_status` and `redirect`. */
  readonly status?: number;
  /** Node's error code for `network` failures (`ECONNREFUSED`, `CERT_HAS_EXPIRED`…). */
  readonly netCode?: string;
}

export class WebhookError extends Error {
  readonly kind: WebhookErrorKind;
  readonly code: WebhookErrorCode;
  readonly tool: string;
  readonly host: string | undefined;
  readonly accountId: string | undefined;
  readonly status: number | undefined;
  readonly netCode: string | undefined;

  /**
   * No `cause`: the underlying Node error is reduced to its code, so nothing a peer sent (and
   * nothing a future Node version might quote) rides along into logs through the cause chain.
   */
  constructor(kind: WebhookErrorKind, message: string, details: WebhookErrorDetails) {
    super(message);
    this.name = 'WebhookError';
    this.kind = kind;
    this.code = WEBHOOK_ERROR_CODES[kind];
    this.tool = details.tool;
    this.host = details.host;
    this.accountId = details.accountId;
    this.status = details.status;
    this.netCode = details.netCode;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      kind: this.kind,
      message: this.message,
      tool: this.tool,
      host: this.host,
      accountId: this.accountId,
      status: this.status,
      netCode: this.netCode,
    };
  }
}

export function isWebhookError(err: unknown, kind?: WebhookErrorKind): err is WebhookError {
  return err instanceof WebhookError && (kind === undefined || err.kind === kind);
}

/**
 * What the model is told, per kind. Generic on purpose: the model may read it out to the caller,
 * so it names no host, status or code, only what happened in words a caller understands.
 */
const MODEL_MESSAGES: Record<WebhookErrorKind, string> = {
  invalid_url: 'the service is not configured correctly and could not be reached',
  invalid_arguments: 'the tool arguments were not a valid JSON object; call the tool again with valid arguments',
  timeout: 'the service did not answer in time',
  aborted: 'the request was cancelled',
  network: 'the service could not be reached',
  redirect: 'the service could not be reached',
  http_status: 'the service reported an error',
  too_large: 'the service sent an answer too large to use',
  blocked_address: 'the service is not configured correctly and could not be reached',
};

/**
 * The function call output to give the model when a webhook tool failed: a JSON string like
 * `{"error":"the service did not answer in time"}`. Anything that is not a WebhookError (a bug)
 * gets a generic message; its details stay in the log.
 */
export function toModelOutput(err: unknown): string {
  const message = err instanceof WebhookError ? MODEL_MESSAGES[err.kind] : 'the tool failed';
  return JSON.stringify({ error: message });
}
