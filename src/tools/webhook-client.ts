/**
 * Runs one call of a tenant's webhook tool: POSTs the model's arguments to the tenant's HTTPS
 * URL, signed with the account's webhook secret, and turns the answer into the function call
 * output the model gets back. docs/WEBHOOKS.md is the receiver's side of this contract.
 *
 * Deliberately plain node:https, one request per call on its own connection (`agent: false`):
 * nothing outlives the call, a stalled peer is cut off by destroying that one socket, and no
 * connection pool is shared between tenants.
 *
 * What it refuses: anything but https:// (http:// only to loopback, and only when the caller
 * says so, for tests and local development), credentials in the URL, redirects (a 3xx fails: the
 * signed request must not be replayed somewhere the agent's author did not name), bodies over
 * the size limit, and answers slower than the time limit, which covers DNS, connect, TLS, the
 * response headers and the whole body.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { WebhookError, type WebhookErrorKind } from './webhook-error.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

export interface WebhookRequest {
  /** The agent's tool URL: https://, or http:// to loopback with `allowInsecureHttpLoopback`. */
  readonly url: string;
  /** The account's webhook signing secret, unsealed for this call. Not kept, not copied. */
  readonly secret: Uint8Array;
  readonly accountId: string;
  /** Kalem's own call id (sent as `kalem_call_id`). */
  readonly callId: string;
  /** The function tool's name (sent as `tool`). */
  readonly toolName: string;
  /** The Realtime API's function call id (sent as `call_id`). */
  readonly toolCallId: string;
  /** The model's arguments: its JSON text, or an already parsed object. */
  readonly arguments: unknown;
  /** Time limit for the whole exchange, in milliseconds. */
  readonly timeoutMs: number;
  /** Largest response body accepted, in bytes. */
  readonly maxResponseBytes: number;
  /** An extra CA to trust besides the system roots (tests: a throwaway CA). */
  readonly ca?: string | Buffer;
  /** Permits http:// when the host is 127.0.0.1, ::1 or localhost. Never for tenant URLs. */
  readonly allowInsecureHttpLoopback?: boolean;
  /**
   * Allow hosts that are or resolve to loopback, private (RFC 1918, ULA), link-local or other
   * non-public addresses. Off by default: a tenant's tool URL must not reach the gateway's own
   * network (cloud metadata, the admin API, rtpengine's control port). Tests and operators whose
   * tenants' services live on their own network turn it on.
   */
  readonly allowPrivateNetworks?: boolean;
  /** Cancels the request (the call ended); the promise rejects with kind `aborted`. */
  readonly signal?: AbortSignal;
  /** Wall clock in epoch milliseconds for `sent_at` and the signature timestamp. */
  readonly now?: () => number;
}

export interface WebhookResult {
  /** The function call output for the model: always a JSON text. */
  readonly output: string;
  /** The receiver's HTTP status (2xx). */
  readonly status: number;
  /** Wall time from sending to the end of the body, in milliseconds (monotonic clock). */
  readonly durationMs: number;
}

/** The JSON body the receiver gets. */
export interface WebhookPayload {
  readonly tool: string;
  readonly call_id: string;
  readonly kalem_call_id: string;
  readonly arguments: Record<string, unknown>;
  readonly sent_at: string;
}

const USER_AGENT = 'KalemGateway-Webhook/1';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** The output when the receiver answered 2xx with no body. */
const EMPTY_OUTPUT = '{"ok":true}';

function checkRequest(r: WebhookRequest): void {
  for (const key of ['url', 'accountId', 'callId', 'toolName', 'toolCallId'] as const) {
    if (typeof r[key] !== 'string') throw new TypeError(`webhook request ${key} must be a string`);
  }
  if (r.toolName === '') throw new TypeError('webhook request toolName must not be empty');
  if (!(r.secret instanceof Uint8Array) || r.secret.byteLength === 0) {
    throw new TypeError('webhook request secret must be a non-empty Uint8Array');
  }
  if (!Number.isFinite(r.timeoutMs) || r.timeoutMs <= 0) {
    throw new TypeError(`webhook request timeoutMs must be a positive number, got ${r.timeoutMs}`);
  }
  if (!Number.isSafeInteger(r.maxResponseBytes) || r.maxResponseBytes <= 0) {
    throw new TypeError(`webhook request maxResponseBytes must be a positive integer, got ${r.maxResponseBytes}`);
  }
}

/** The model's arguments as an object; `''` (a tool without parameters) is `{}`. */
function parseArguments(args: unknown): Record<string, unknown> | undefined {
  let value = args;
  if (typeof args === 'string') {
    if (args.trim() === '') return {};
    try {
      value = JSON.parse(args);
    } catch {
      return undefined;
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/** The response body as the model's output: JSON kept byte for byte, text wrapped, empty → ok. */
export function responseToOutput(body: Uint8Array): string {
  const text = new TextDecoder('utf-8').decode(body);
  if (text.trim() === '') return EMPTY_OUTPUT;
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify({ result: text });
  }
}

/**
 * Calls the webhook once. Resolves with the output for the model; rejects with a WebhookError
 * (kind invalid_url, invalid_arguments, timeout, aborted, network, redirect, http_status or
 * too_large) whose message names the tool and host only. Bad arguments from the caller (not the
 * tenant) throw a TypeError. There is no retry: the tool may not be idempotent.
 */
export async function callWebhook(request: WebhookRequest): Promise<WebhookResult> {
  checkRequest(request);
  const tool = request.toolName;
  const what = (host?: string): string => `webhook tool ${tool}${host === undefined ? '' : ` at ${host}`}`;

  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    // The URL is not quoted: its query may hold the tenant's token.
    throw new WebhookError('invalid_url', `${what()}: the URL does not parse`, { tool, accountId: request.accountId });
  }
  const host = url.host;
  const base = { tool, host, accountId: request.accountId };
  if (url.protocol === 'http:') {
    if (!request.allowInsecureHttpLoopback || !LOOPBACK_HOSTS.has(url.hostname)) {
      throw new WebhookError('invalid_url', `${what(host)}: plain http:// is refused; webhook URLs must use https://`, base);
    }
  } else if (url.protocol !== 'https:') {
    throw new WebhookError('invalid_url', `${what(host)}: only https:// URLs are supported, not ${url.protocol}`, base);
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookError('invalid_url', `${what(host)}: credentials in the URL are refused; receivers authenticate requests by the ${SIGNATURE_HEADER} header`, base);
  }

  if (!request.allowPrivateNetworks && isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0 && !isPublicAddress(url.hostname.replace(/^\[|\]$/g, ''))) {
    throw new WebhookError('blocked_address', `${what(host)}: the address is not a public one; webhook URLs must reach the internet`, base);
  }
  if (url.hostname === 'localhost' && !request.allowPrivateNetworks && !(request.allowInsecureHttpLoopback && url.protocol === 'http:')) {
    throw new WebhookError('blocked_address', `${what(host)}: localhost is not a public address`, base);
  }

  const args = parseArguments(request.arguments);
  if (args === undefined) {
    throw new WebhookError('invalid_arguments', `${what(host)}: the model's arguments are not a JSON object`, base);
  }
  if (request.signal?.aborted) {
    throw new WebhookError('aborted', `${what(host)}: cancelled before sending`, base);
  }

  const nowMs = (request.now ?? Date.now)();
  const payload: WebhookPayload = {
    tool,
    call_id: request.toolCallId,
    kalem_call_id: request.callId,
    arguments: args,
    sent_at: new Date(nowMs).toISOString(),
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const signature = signWebhook(request.secret, Math.floor(nowMs / 1000), body);

  return new Promise<WebhookResult>((resolve, reject) => {
    const started = performance.now();
    let settled = false;
    let req: http.ClientRequest | undefined;

    const finish = (outcome: WebhookResult | WebhookError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof WebhookError) {
        // Cuts the connection whatever stage it is in; later events find `settled` and stop.
        req?.destroy();
        reject(outcome);
      } else {
        resolve(outcome);
      }
    };
    const fail = (kind: WebhookErrorKind, reason: string, extra: { status?: number; netCode?: string } = {}): void =>
      finish(new WebhookError(kind, `${what(host)}: ${reason}`, { ...base, ...extra }));

    const timer = setTimeout(() => fail('timeout', `no complete answer within ${request.timeoutMs} ms`), request.timeoutMs);
    const onAbort = (): void => fail('aborted', 'cancelled');
    request.signal?.addEventListener('abort', onAbort, { once: true });

    const options: https.RequestOptions = {
      method: 'POST',
      agent: false,
      // Names are checked after resolution, so a public-looking name pointing inward is refused too.
      ...(request.allowPrivateNetworks ? {} : { lookup: publicOnlyLookup }),
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': body.byteLength,
        Accept: 'application/json, text/plain;q=0.9, */*;q=0.1',
        // The size limit counts bytes on the wire; a compressed body would evade it.
        'Accept-Encoding': 'identity',
        'User-Agent': USER_AGENT,
        [SIGNATURE_HEADER]: signature,
      },
    };
    if (url.protocol === 'https:') {
      // Node's `ca` replaces the system roots; keep them and add the extra one.
      if (request.ca !== undefined) options.ca = [...rootCertificates, request.ca];
      options.rejectUnauthorized = true;
    }

    const onResponse = (res: http.IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      res.on('error', (err: NodeJS.ErrnoException) => fail('network', `the connection failed mid-response (${err.code ?? 'error'})`, { status, netCode: err.code }));
      if (status >= 300 && status < 400) {
        fail('redirect', `answered ${status}; redirects are not followed`, { status });
        return;
      }
      if (status < 200 || status >= 300) {
        fail('http_status', `answered HTTP ${status}`, { status });
        return;
      }
      const limit = request.maxResponseBytes;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        fail('too_large', `the response declares ${declared} bytes, over the ${limit} byte limit`, { status });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.byteLength;
        if (size > limit) {
          fail('too_large', `the response is over the ${limit} byte limit`, { status });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        finish({ output: responseToOutput(Buffer.concat(chunks, size)), status, durationMs: performance.now() - started });
      });
      res.on('close', () => {
        if (!res.complete) fail('network', 'the connection closed before the response was complete', { status });
      });
    };

    req = (url.protocol === 'https:' ? https : http).request(url, options, onResponse);
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ENOTPUBLIC'
        ? fail('blocked_address', 'the host resolves to a non-public address; webhook URLs must reach the internet')
        : fail('network', `the request failed (${err.code ?? 'error'})`, { netCode: err.code }),
    );
    req.end(body);
  });
}

/** True for globally routable unicast addresses (not loopback, private, link-local, CGNAT, multicast…). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
}

/** dns.lookup that fails (code ENOTPUBLIC) when any address the name resolves to is not public. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as unknown as Array<{ address: string; family: number }>;
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad !== undefined || list.length === 0) {
      const e = Object.assign(new Error('resolves to a non-public address'), { code: 'ENOTPUBLIC' });
      return callback(e, '', 0);
    }
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
    return callback(null, list[0]!.address, list[0]!.family);
  });
};
