/**
 * The webhook signature scheme, shared by the sender (webhook-client.ts), receivers written in
 * Node, and the tests. docs/WEBHOOKS.md describes it for receivers in other languages.
 *
 * One header, in the shape Stripe made familiar:
 *
 *   Kalem-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is inside the signed string, so a captured request cannot be replayed with a
 * fresh `t`; receivers refuse timestamps more than a tolerance (300 s) away from their clock.
 * `v1` names the scheme so a later one can be sent beside it during a migration; a receiver
 * accepts the header when any `v1` value matches and ignores keys it does not know.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Kalem-Signature';
export const DEFAULT_TOLERANCE_S = 300;

/** HMAC-SHA256 output length; a `v1` value is twice this many hex digits. */
const MAC_BYTES = 32;
const HEX_MAC = /^[0-9a-fA-F]{64}$/;

export type WebhookSecret = Uint8Array | string;
export type WebhookBody = Uint8Array | string;

function keyOf(secret: WebhookSecret): Uint8Array {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (!(key instanceof Uint8Array)) throw new TypeError('webhook secret must be a Uint8Array or a string');
  // An empty key signs with a constant anyone can reproduce: that is a missing secret, not a key.
  if (key.byteLength === 0) throw new TypeError('webhook secret must not be empty');
  return key;
}

function mac(secret: WebhookSecret, timestampS: number, body: WebhookBody): Buffer {
  return createHmac('sha256', keyOf(secret))
    .update(`${timestampS}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest();
}

function checkTimestamp(timestampS: number): void {
  if (!Number.isSafeInteger(timestampS) || timestampS < 0) {
    throw new TypeError(`webhook timestamp must be whole non-negative unix seconds, got ${timestampS}`);
  }
}

/**
 * The `Kalem-Signature` header value for `body` sent at `timestampS` (whole unix seconds):
 * `t=<timestampS>,v1=<64 hex digits>`. `body` must be the exact bytes sent (a string is taken
 * as UTF-8).
 */
export function signWebhook(secret: WebhookSecret, timestampS: number, body: WebhookBody): string {
  checkTimestamp(timestampS);
  return `t=${timestampS},v1=${mac(secret, timestampS, body).toString('hex')}`;
}

export type SignatureFailure =
  /** No header, no `t`, no `v1`, or a value that is not what the scheme produces. */
  | 'malformed'
  /** The timestamp is further than the tolerance from now (either way: clocks drift). */
  | 'timestamp'
  /** Well-formed and in time, but no `v1` matches this secret and body. */
  | 'mismatch';

/**
 * Thrown by verifyWebhookSignature. The message says which check failed and never quotes the
 * header, the expected signature or the body.
 */
export class WebhookSignatureError extends Error {
  readonly reason: SignatureFailure;

  constructor(reason: SignatureFailure, message: string) {
    super(message);
    this.name = 'WebhookSignatureError';
    this.reason = reason;
  }
}

export interface VerifyOptions {
  /** Largest allowed |now - t| in seconds; default 300. */
  readonly toleranceS?: number;
  /** The receiver's clock in unix seconds; default the system clock. */
  readonly nowS?: number;
}

interface ParsedHeader {
  readonly timestampS: number;
  readonly v1: string[];
}

function parseHeader(header: string | null | undefined): ParsedHeader {
  if (typeof header !== 'string' || header.length === 0) {
    throw new WebhookSignatureError('malformed', `missing ${SIGNATURE_HEADER} header`);
  }
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new WebhookSignatureError('malformed', `${SIGNATURE_HEADER} header is not a list of key=value pairs`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined) throw new WebhookSignatureError('malformed', `${SIGNATURE_HEADER} header has more than one t=`);
      t = value;
    } else if (key === 'v1') {
      v1.push(value);
    }
    // Other keys are schemes this code does not know (a future v2): ignored, not an error.
  }
  if (t === undefined || !/^\d{1,15}$/.test(t)) {
    throw new WebhookSignatureError('malformed', `${SIGNATURE_HEADER} header has no valid t= timestamp`);
  }
  if (v1.length === 0) throw new WebhookSignatureError('malformed', `${SIGNATURE_HEADER} header has no v1= signature`);
  return { timestampS: Number(t), v1 };
}

/**
 * Checks a `Kalem-Signature` header against the raw request body (the bytes as received, before
 * any JSON parsing). Returns the signed timestamp (unix seconds) when the header is valid;
 * otherwise throws a WebhookSignatureError whose `reason` says why. Throwing rather than
 * returning false means a receiver cannot forget to look at the answer.
 *
 * Comparison is constant-time (timingSafeEqual on the decoded MACs).
 */
export function verifyWebhookSignature(
  secret: WebhookSecret,
  header: string | null | undefined,
  body: WebhookBody,
  options: VerifyOptions = {},
): number {
  const toleranceS = options.toleranceS ?? DEFAULT_TOLERANCE_S;
  if (!Number.isFinite(toleranceS) || toleranceS < 0) throw new TypeError(`toleranceS must be a non-negative number, got ${toleranceS}`);
  const nowS = options.nowS ?? Math.floor(Date.now() / 1000);
  if (!Number.isFinite(nowS)) throw new TypeError(`nowS must be a number, got ${nowS}`);
  // The key is checked before the header so a misconfigured receiver (no secret) fails loudly
  // with a TypeError rather than looking like a bad request.
  keyOf(secret);

  const { timestampS, v1 } = parseHeader(header);
  if (Math.abs(nowS - timestampS) > toleranceS) {
    throw new WebhookSignatureError('timestamp', `${SIGNATURE_HEADER} timestamp is more than ${toleranceS} s from now`);
  }
  const expected = mac(secret, timestampS, body);
  let matched = false;
  for (const candidate of v1) {
    // A value of the wrong shape cannot match; its length is no secret, so skipping it early
    // leaks nothing. Every well-formed candidate is compared in full (no early exit on match).
    if (!HEX_MAC.test(candidate)) continue;
    const given = Buffer.from(candidate, 'hex');
    if (given.byteLength === MAC_BYTES && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new WebhookSignatureError('mismatch', `${SIGNATURE_HEADER} does not match the body and secret`);
  return timestampS;
}
