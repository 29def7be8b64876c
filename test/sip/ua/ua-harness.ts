/**
 * A UserAgentCore wired to a real TransactionLayer over the in-memory FakeTransport of the
 * transaction tests, on a FakeClock: what the core sends is in `transport.sent`, time moves only
 * with `clock.advance()`. Requests are built with the transaction tests' `makeRequest` and
 * dressed up here (bodies, Contact, Record-Route, extra headers).
 */
import { FakeClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/logger.js';
import type { SipRequest, SipResponse } from '../../../src/sip/embedded/message/types.js';
import { timerTables, type TimerTables } from '../../../src/sip/embedded/timers.js';
import { TransactionLayer } from '../../../src/sip/embedded/transaction/transaction-layer.js';
import type { ReceivedSource, SendTarget } from '../../../src/sip/embedded/transport/types.js';
import type { EmbeddedCall } from '../../../src/sip/embedded/ua/embedded-call.js';
import { UserAgentCore } from '../../../src/sip/embedded/ua/user-agent-core.js';
import { FakeTransport, makeRequest, udpSource, type RequestSpec } from '../transaction/fake-transport.js';

export const CONTACT = '<sip:kalem@192.0.2.1:5060>';
export const RETRY_AFTER_S = 7;

export const OFFER_SDP = [
  'v=0',
  'o=carrier 1 1 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  'a=sendrecv',
  '',
].join('\r\n');

export const ANSWER_SDP = OFFER_SDP.replace('carrier', 'kalem').replace(/198\.51\.100\.7/g, '192.0.2.1');

export interface UaHarness {
  clock: FakeClock;
  timers: TimerTables;
  transport: FakeTransport;
  layer: TransactionLayer;
  core: UserAgentCore;
  /** Every call handed to onCall, in order. */
  calls: EmbeddedCall[];
  setAccepting(accepting: boolean): void;
  /** Feeds a request as the transport layer would. */
  receive(request: SipRequest, source?: ReceivedSource): void;
  /** Feeds a response to a request the core sent. */
  receiveResponse(response: SipResponse, source?: ReceivedSource): void;
  /** Responses sent so far, optionally only those to one CSeq method. */
  responses(method?: string): SipResponse[];
  /** Requests the core sent (BYE, REFER …), optionally of one method. */
  sentRequests(method?: string): Array<{ request: SipRequest; target: SendTarget; at: number }>;
  /** Milliseconds since the harness was built. */
  elapsed(): number;
}

/** `onCall` runs after the call is recorded (a controller stand-in; it may throw). */
export function uaHarness(onCall?: (call: EmbeddedCall) => void): UaHarness {
  const clock = new FakeClock();
  const start = clock.now();
  const transport = new FakeTransport(() => clock.now() - start);
  const timers = timerTables();
  let accepting = true;
  const calls: EmbeddedCall[] = [];
  const core = new UserAgentCore({
    clock,
    timers,
    log: createLogger({ level: 'silent' }),
    serverName: 'kalem-test',
    retryAfterS: RETRY_AFTER_S,
    contactFor: () => CONTACT,
    isAccepting: () => accepting,
    onCall: (call) => {
      calls.push(call);
      onCall?.(call);
    },
  });
  const layer = new TransactionLayer({ transport, clock, tu: core, timers });
  core.attach(layer);
  return {
    clock,
    timers,
    transport,
    layer,
    core,
    calls,
    setAccepting: (a) => void (accepting = a),
    receive: (request, source = udpSource()) => layer.receiveRequest(request, source),
    receiveResponse: (response, source = udpSource()) => layer.receiveResponse(response, source),
    responses(method) {
      const out: SipResponse[] = [];
      for (const s of transport.sent) {
        if (s.kind !== 'response') continue;
        if (method === undefined || cseqMethod(s.response) === method) out.push(s.response);
      }
      return out;
    },
    sentRequests(method) {
      const out: Array<{ request: SipRequest; target: SendTarget; at: number }> = [];
      for (const s of transport.sent) {
        if (s.kind === 'request' && (method === undefined || s.request.method === method)) {
          out.push({ request: s.request, target: s.target, at: s.at });
        }
      }
      return out;
    },
    elapsed: () => clock.now() - start,
  };
}

export function cseqMethod(m: SipRequest | SipResponse): string {
  return (m.headers.get('cseq') ?? '').trim().split(/\s+/)[1] ?? '';
}

let branchSeq = 0;

export interface Spec extends RequestSpec {
  /** Extra header lines, appended in order. */
  headers?: Array<[string, string]>;
  /** Headers to remove from makeRequest's defaults before the extra ones go on. */
  without?: string[];
  body?: string;
  contentType?: string;
  /** Contact of the request; default `<sip:caller@198.51.100.7:5060>` (none for ACK-less tests: pass null). */
  contact?: string | null;
}

/**
 * A request from the carrier. Every call gets a fresh branch unless one is given (retransmissions
 * pass the branch of the original).
 */
export function request(spec: Spec): SipRequest {
  const r = makeRequest({ branch: `z9hG4bKua${++branchSeq}`, ...spec });
  for (const name of spec.without ?? []) r.headers.remove(name);
  const contact = spec.contact === undefined ? '<sip:caller@198.51.100.7:5060>' : spec.contact;
  if (contact !== null && spec.method !== 'ACK' && spec.method !== 'CANCEL') r.headers.append('contact', contact);
  for (const [n, v] of spec.headers ?? []) r.headers.append(n, v);
  if (spec.body !== undefined) {
    r.headers.append('content-type', spec.contentType ?? 'application/sdp');
    r.body = Buffer.from(spec.body, 'utf8');
  }
  return r;
}

/** An INVITE with an SDP offer (unless `body: undefined` is overridden by a spec without body). */
export function invite(spec: Partial<Spec> = {}): SipRequest {
  return request({ method: 'INVITE', body: OFFER_SDP, ...spec });
}

/** The caller's request inside the dialog of `call` (our tag in To). */
export function inDialog(call: EmbeddedCall, spec: Spec): SipRequest {
  return request({ toTag: call.localTag, callId: call.info.callId, ...spec });
}

/** The ACK for our 2xx to the initial INVITE (CSeq 1 unless told). */
export function ackFor(call: EmbeddedCall, cseq = 1): SipRequest {
  return inDialog(call, { method: 'ACK', cseq });
}

/** A response from the carrier to a request the core sent. */
export function answerTo(req: SipRequest, status: number, reason = 'X'): SipResponse {
  const headers = req.headers.clone();
  const keep = new Set(['via', 'from', 'to', 'call-id', 'cseq']);
  for (let i = headers.list.length - 1; i >= 0; i--) if (!keep.has(headers.list[i]!.name)) headers.list.splice(i, 1);
  return { kind: 'response', status, reason, headers, body: Buffer.alloc(0) };
}
