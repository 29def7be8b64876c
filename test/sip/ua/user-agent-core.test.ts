/**
 * The UAS core (UserAgentCore + EmbeddedCall + Dialog) driven through a real TransactionLayer
 * over the in-memory FakeTransport, on a FakeClock. Every case asserts what goes on the wire
 * and which call events fire.
 */
import t from 'tap';
import { parseNameAddr, tagOf } from '../../../src/sip/embedded/message/index.js';
import type { SipResponse } from '../../../src/sip/embedded/message/types.js';
import type { CallEndReason } from '../../../src/sip/sip-engine.js';
import type { EmbeddedCall } from '../../../src/sip/embedded/ua/embedded-call.js';
import { flush, tcpSource, udpSource } from '../transaction/fake-transport.js';
import {
  ANSWER_SDP,
  CONTACT,
  OFFER_SDP,
  RETRY_AFTER_S,
  ackFor,
  answerTo,
  inDialog,
  invite,
  request,
  uaHarness,
  type UaHarness,
} from './ua-harness.js';

const T1 = 500;
const T2 = 4000;
const T4 = 5000;

const HOLD_SDP = OFFER_SDP.replace('a=sendrecv', 'a=sendonly').replace('o=carrier 1 1', 'o=carrier 1 2');

/** Records a call's events in order. */
function watch(call: EmbeddedCall): string[] {
  const events: string[] = [];
  call.on('cancel', () => events.push('cancel'));
  call.on('confirmed', () => events.push('confirmed'));
  call.on('ended', (reason: CallEndReason) => events.push(`ended:${reason}`));
  call.on('info', (type, body) => events.push(`info:${type}:${body}`));
  return events;
}

function statuses(rs: SipResponse[]): number[] {
  return rs.map((r) => r.status);
}

function last<T>(xs: T[]): T {
  const x = xs[xs.length - 1];
  if (x === undefined) throw new Error('nothing there');
  return x;
}

/** An answered call (200 sent, not yet ACKed). */
async function answered(h: UaHarness, spec: Parameters<typeof invite>[0] = {}): Promise<EmbeddedCall> {
  h.receive(invite(spec));
  const call = last(h.calls);
  await call.answer(ANSWER_SDP);
  return call;
}

/** An answered and ACKed call. */
async function confirmed(h: UaHarness, spec: Parameters<typeof invite>[0] = {}): Promise<EmbeddedCall> {
  const call = await answered(h, spec);
  h.receive(ackFor(call, spec.cseq ?? 1));
  if (call.state !== 'confirmed') throw new Error(`the ACK did not confirm the call (state ${call.state})`);
  return call;
}

/** Runs every timer the call left behind out (Timer L, K, F …) and checks nothing is left. */
function drained(t: Pick<typeof import('tap').default, 'equal'>, h: UaHarness): void {
  h.clock.advance(64 * T1 + T4 + 1000);
  t.equal(h.clock.pendingTimers(), 0, 'no timer left on the clock');
}

t.test('a new INVITE becomes a call with the right IncomingCallInfo, after 100 Trying', async (t) => {
  const h = uaHarness();
  const auth =
    'Digest username="trunkuser", realm="kalem", nonce="abc123", uri="sip:+15550199@gw.example", ' +
    'response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz", opaque="op"';
  h.receive(
    invite({
      uri: 'sip:+15550199@gw.example;user=phone',
      without: ['from', 'to'],
      headers: [
        ['from', '"Alice Caller" <sip:+15550100@carrier.example>;tag=from1'],
        ['to', '<sip:+15550000@gw.example>'],
        ['user-agent', 'CarrierSBC/1.0'],
        ['authorization', auth],
        ['x-carrier-id', 'abc'],
      ],
    }),
    udpSource(),
  );
  t.same(statuses(h.responses()), [100], '100 Trying went out before the core decided anything');
  t.equal(h.calls.length, 1);
  const info = h.calls[0]!.info;
  t.equal(info.callId, 'call-1@carrier.example');
  t.equal(info.requestUri, 'sip:+15550199@gw.example;user=phone');
  t.equal(info.calledUser, '+15550199', 'the Request-URI user wins over To');
  t.equal(info.fromUri, 'sip:+15550100@carrier.example');
  t.equal(info.fromUser, '+15550100');
  t.equal(info.fromDisplayName, 'Alice Caller');
  t.equal(info.toUri, 'sip:+15550000@gw.example');
  t.equal(info.userAgent, 'CarrierSBC/1.0');
  t.same(info.source, { address: '198.51.100.7', port: 5060, transport: 'udp' });
  t.equal(info.localAddress, '192.0.2.1');
  t.equal(info.sdp, OFFER_SDP, 'application/sdp body is the offer');
  t.equal(info.header('X-Carrier-ID'), 'abc', 'header() is case-insensitive');
  t.same(info.digest, {
    header: 'authorization',
    username: 'trunkuser',
    realm: 'kalem',
    nonce: 'abc123',
    uri: 'sip:+15550199@gw.example',
    response: '0123456789abcdef0123456789abcdef',
    algorithm: 'MD5',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'xyz',
    opaque: 'op',
  });
  t.equal(h.calls[0]!.state, 'offered');
});

t.test('calledUser falls back to To; late offer has sdp null; Proxy-Authorization is read too', async (t) => {
  const h = uaHarness();
  h.receive(
    request({
      method: 'INVITE',
      uri: 'sip:gw.example',
      callId: 'late-offer',
      headers: [['proxy-authorization', 'Digest username="u", realm="r", nonce="n", uri="sip:gw.example", response="ff"']],
    }),
  );
  const info = h.calls[0]!.info;
  t.equal(info.calledUser, '+15550199', 'the To user, as the Request-URI has none');
  t.equal(info.sdp, null, 'no body: late offer');
  t.equal(info.digest?.header, 'proxy-authorization');
  t.equal(info.digest?.algorithm, null);
  t.equal(info.fromDisplayName, null);

  h.receive(
    invite({
      callId: 'sdp-with-params',
      contentType: 'Application/SDP; charset=utf-8',
      headers: [['authorization', 'Basic dXNlcjpwYXNz']],
    }),
  );
  t.equal(h.calls[1]!.info.sdp, OFFER_SDP, 'content type compared without parameters or case');
  t.equal(h.calls[1]!.info.digest, null, 'a non-digest Authorization is no digest');

  h.receive(invite({ callId: 'tel', uri: 'tel:+15550123' }));
  t.equal(h.calls[2]!.info.calledUser, '+15550123', 'tel: URI number');
});

t.test('answer(sdp) sends 200 with our To tag, Contact, Allow and the SDP', async (t) => {
  const h = uaHarness();
  const inv = invite({ headers: [['record-route', '<sip:proxy.example;lr>']] });
  h.receive(inv);
  const call = h.calls[0]!;
  call.progress(180);
  await call.answer(ANSWER_SDP);
  t.equal(call.state, 'answered');
  t.same(statuses(h.responses()), [100, 180, 200]);
  const ringing = h.responses()[1]!;
  const ok = h.responses()[2]!;
  t.equal(tagOf(parseNameAddr(ok.headers.get('to')!)), call.localTag, '200 carries our tag');
  t.equal(tagOf(parseNameAddr(ringing.headers.get('to')!)), call.localTag, '180 carries the same tag');
  t.equal(ok.headers.get('contact'), CONTACT);
  const allow = ok.headers.values('allow');
  for (const m of ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'NOTIFY']) t.ok(allow.includes(m), `Allow lists ${m}`);
  t.equal(ok.headers.get('content-type'), 'application/sdp');
  t.equal(ok.body.toString('utf8'), ANSWER_SDP);
  t.equal(ok.headers.get('call-id'), 'call-1@carrier.example');
  t.equal(ok.headers.get('cseq'), '1 INVITE');
  t.same(ok.headers.getAll('via'), inv.headers.getAll('via'), 'Via copied from the INVITE');
  t.same(ok.headers.getAll('record-route'), [], 'a UAS does not echo Record-Route it has no use for here');
  t.throws(() => call.reject(486), TypeError, 'no reject after answer');
  await t.rejects(call.answer(ANSWER_SDP), TypeError, 'no second answer');
});

t.test('the 2xx is retransmitted from T1 doubling to T2 until the ACK, then `confirmed`', async (t) => {
  const h = uaHarness();
  const call = await answered(h);
  const events = watch(call);
  h.clock.advance(11_500);
  const oks = h.transport.sent.filter((s) => s.kind === 'response' && s.response.status === 200).map((s) => s.at);
  t.same(oks, [0, T1, 3 * T1, 7 * T1, 7 * T1 + T2, 7 * T1 + 2 * T2], '500, 1000, 2000, then capped at 4000');
  h.receive(ackFor(call));
  t.same(events, ['confirmed']);
  t.equal(call.state, 'confirmed');
  h.clock.advance(64 * T1);
  t.equal(h.responses().filter((r) => r.status === 200).length, 6, 'no retransmission after the ACK');
  t.same(events, ['confirmed'], 'no-ack never fires once ACKed');
  h.receive(ackFor(call));
  t.same(events, ['confirmed'], 'a retransmitted ACK confirms nothing twice');
  t.equal(h.sentRequests('BYE').length, 0);
});

t.test('no ACK within 64*T1: BYE goes out and the call ends with no-ack', async (t) => {
  const h = uaHarness();
  const call = await answered(h);
  const events = watch(call);
  h.clock.advance(64 * T1 - 1);
  t.same(events, [], 'still waiting just before 64*T1');
  h.clock.advance(1);
  t.same(events, ['ended:no-ack']);
  const byes = h.sentRequests('BYE');
  t.equal(byes.length, 1, 'one BYE');
  t.equal(byes[0]!.at, 64 * T1);
  t.equal(call.state, 'ended');
  const retransmitted = h.responses().filter((r) => r.status === 200).length;
  h.clock.advance(10_000);
  t.equal(h.responses().filter((r) => r.status === 200).length, retransmitted, '2xx retransmission stopped');
  h.receiveResponse(answerTo(byes[0]!.request, 200));
  h.receive(ackFor(call));
  t.same(events, ['ended:no-ack'], 'a late ACK does not resurrect the call');
  t.equal(h.core.calls().length, 0);
  drained(t, h);
});

t.test('a remote BYE gets 200 and ends the call once', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const events = watch(call);
  const bye = inDialog(call, { method: 'BYE', cseq: 2 });
  h.receive(bye);
  t.same(events, ['ended:remote-bye']);
  const byeOk = h.responses('BYE');
  t.same(statuses(byeOk), [200]);
  h.receive(bye); // a retransmission: the transaction answers again, the call hears nothing
  t.same(statuses(h.responses('BYE')), [200, 200]);
  h.receive(inDialog(call, { method: 'BYE', cseq: 3 }));
  t.same(statuses(h.responses('BYE')), [200, 200, 481], 'a new BYE for the ended dialog is 481');
  t.same(events, ['ended:remote-bye'], 'ended exactly once');
  await call.hangup();
  t.equal(h.sentRequests('BYE').length, 0, 'hangup after remote BYE sends nothing');
  t.same(events, ['ended:remote-bye']);
  drained(t, h);
});

t.test('a remote BYE before the ACK ends the call and stops the 2xx retransmissions', async (t) => {
  const h = uaHarness();
  const call = await answered(h);
  const events = watch(call);
  h.receive(inDialog(call, { method: 'BYE', cseq: 2 }));
  t.same(events, ['ended:remote-bye']);
  h.clock.advance(64 * T1 + 1);
  t.equal(h.responses('INVITE').filter((r) => r.status === 200).length, 1, 'no 2xx retransmission after BYE');
  t.equal(h.sentRequests('BYE').length, 0, 'no no-ack BYE either');
  t.same(events, ['ended:remote-bye']);
  drained(t, h);
});

t.test('local hangup: BYE with our tags, next CSeq, Route from Record-Route and the remote Contact as Request-URI', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h, {
    contact: '<sip:caller@203.0.113.50:5099;transport=udp>',
    headers: [
      ['record-route', '<sip:p1.example.net:5070;lr>, <sip:p2.example.net;lr>'],
      ['record-route', '<sip:p3.example.net;lr>'],
    ],
  });
  const events = watch(call);
  const done = call.hangup();
  const byes = h.sentRequests('BYE');
  t.equal(byes.length, 1);
  const { request: bye, target } = byes[0]!;
  t.equal(bye.uri, 'sip:caller@203.0.113.50:5099;transport=udp', 'Request-URI is the remote target (loose routing)');
  t.same(bye.headers.values('route'), ['<sip:p1.example.net:5070;lr>', '<sip:p2.example.net;lr>', '<sip:p3.example.net;lr>'], 'route set in Record-Route order');
  t.same({ host: target.host, port: target.port, transport: target.transport }, { host: 'p1.example.net', port: 5070, transport: 'udp' }, 'sent to the first route');
  t.equal(tagOf(parseNameAddr(bye.headers.get('from')!)), call.localTag, 'From carries our tag');
  t.equal(parseNameAddr(bye.headers.get('from')!).uri, 'sip:+15550199@gw.example', 'From is the INVITE To');
  t.equal(tagOf(parseNameAddr(bye.headers.get('to')!)), 'from1', 'To carries the caller tag');
  t.equal(parseNameAddr(bye.headers.get('to')!).uri, 'sip:+15550100@carrier.example');
  t.equal(bye.headers.get('call-id'), 'call-1@carrier.example');
  t.match(bye.headers.get('cseq'), /^\d+ BYE$/);
  t.match(bye.headers.get('via'), /^SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK\S+;rport$/);
  t.equal(bye.headers.get('max-forwards'), '70');
  t.same(events, ['ended:local-bye'], 'ended at once, before the BYE is answered');
  let settled = false;
  void done.then(() => (settled = true));
  await flush();
  t.notOk(settled, 'hangup() waits for the BYE transaction');
  h.receiveResponse(answerTo(bye, 200));
  await done;
  t.same(events, ['ended:local-bye']);
  // An in-dialog request from us after the BYE would be a bug; a crossing BYE from the caller gets 481.
  h.receive(inDialog(call, { method: 'BYE', cseq: 2 }));
  t.same(statuses(h.responses('BYE')), [481]);
  drained(t, h);
});

t.test('our CSeq space advances by one per request (REFER, then BYE)', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  void call.refer('sip:+15550111@elsewhere.example');
  const refer = h.sentRequests('REFER')[0]!.request;
  h.receiveResponse(answerTo(refer, 202));
  const done = call.hangup();
  const bye = h.sentRequests('BYE')[0]!.request;
  const n = Number(refer.headers.get('cseq')!.split(' ')[0]);
  t.equal(bye.headers.get('cseq'), `${n + 1} BYE`);
  t.ok(n >= 1 && n < 2 ** 31, 'initial local CSeq below 2**31');
  h.receiveResponse(answerTo(bye, 200));
  await done;
  drained(t, h);
});

t.test('with no Record-Route the BYE goes to the Contact; over TCP on the same connection', async (t) => {
  const h = uaHarness();
  h.receive(invite({ contact: '<sip:caller@198.51.100.7:40000;transport=tcp>' }), tcpSource());
  const call = last(h.calls);
  await call.answer(ANSWER_SDP);
  h.receive(ackFor(call), tcpSource());
  const done = call.hangup();
  const { request: bye, target } = h.sentRequests('BYE')[0]!;
  t.equal(bye.headers.values('route').length, 0, 'no Route without Record-Route');
  t.same(target, { host: '198.51.100.7', port: 40000, transport: 'tcp', connectionId: 'tcp-1' }, 'reuses the INVITE connection');
  t.match(bye.headers.get('via'), /^SIP\/2\.0\/TCP /);
  h.receiveResponse(answerTo(bye, 200), tcpSource());
  await done;
  drained(t, h);
});

t.test('CANCEL before answer: 200 to the CANCEL, 487 to the INVITE, `cancel` then ended(cancelled)', async (t) => {
  const h = uaHarness();
  const inv = invite({ branch: 'z9hG4bKcancelme' });
  h.receive(inv);
  const call = h.calls[0]!;
  const events = watch(call);
  call.progress(180);
  h.receive(request({ method: 'CANCEL', branch: 'z9hG4bKcancelme' }));
  t.same(
    h.responses().map((r) => `${r.status} ${r.headers.get('cseq')}`),
    ['100 1 INVITE', '180 1 INVITE', '200 1 CANCEL', '487 1 INVITE'],
  );
  t.same(events, ['cancel', 'ended:cancelled']);
  t.equal(call.state, 'ended');
  const r487 = last(h.responses('INVITE'));
  t.equal(tagOf(parseNameAddr(r487.headers.get('to')!)), call.localTag, '487 has the same To tag as the 180');
  t.throws(() => call.reject(486), TypeError, 'reject after cancel throws');
  await t.rejects(call.answer(ANSWER_SDP), TypeError, 'answer after cancel throws');
  h.receive(request({ method: 'ACK', branch: 'z9hG4bKcancelme', toTag: call.localTag }));
  t.equal(h.core.calls().length, 0);
  drained(t, h);
});

t.test('CANCEL after answer: 200 to the CANCEL, the call goes on', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h, { branch: 'z9hG4bKlate' });
  const events = watch(call);
  h.receive(request({ method: 'CANCEL', branch: 'z9hG4bKlate' }));
  t.same(statuses(h.responses('CANCEL')), [200]);
  t.same(events, []);
  t.equal(call.state, 'confirmed');
});

t.test('CANCEL for an unknown transaction gets 481', async (t) => {
  const h = uaHarness();
  h.receive(request({ method: 'CANCEL', branch: 'z9hG4bKnobody' }));
  t.same(statuses(h.responses()), [481]);
  t.equal(h.calls.length, 0);
});

t.test('re-INVITE with hold SDP: the reinvite handler answers; 488 when it returns null', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const offers: Array<string | null> = [];
  const HOLD_ANSWER = ANSWER_SDP.replace('a=sendrecv', 'a=recvonly');
  call.setReinviteHandler((offer) => {
    offers.push(offer);
    return offers.length === 1 ? HOLD_ANSWER : null;
  });
  h.receive(inDialog(call, { method: 'INVITE', cseq: 2, body: HOLD_SDP }));
  t.same(offers, [HOLD_SDP], 'the handler sees the new offer');
  const ok = last(h.responses('INVITE'));
  t.equal(ok.status, 200);
  t.equal(ok.body.toString('utf8'), HOLD_ANSWER);
  t.equal(ok.headers.get('content-type'), 'application/sdp');
  t.equal(tagOf(parseNameAddr(ok.headers.get('to')!)), call.localTag, 'the To tag is the dialog tag, not a new one');
  t.equal(ok.headers.get('contact'), CONTACT);
  // Its 2xx is retransmitted until its ACK, like the first one.
  h.clock.advance(T1);
  t.equal(h.responses('INVITE').filter((r) => r.status === 200 && r.headers.get('cseq') === '2 INVITE').length, 2);
  h.receive(ackFor(call, 2));
  h.clock.advance(10 * T1);
  t.equal(h.responses('INVITE').filter((r) => r.status === 200 && r.headers.get('cseq') === '2 INVITE').length, 2, 'stopped at the ACK');

  h.receive(inDialog(call, { method: 'INVITE', cseq: 3, body: OFFER_SDP }));
  t.equal(last(h.responses('INVITE')).status, 488, 'handler returned null');
  t.equal(last(h.responses('INVITE')).headers.get('cseq'), '3 INVITE');
  t.equal(call.state, 'confirmed', 'a refused re-INVITE leaves the call up');
  h.receive(inDialog(call, { method: 'ACK', cseq: 3, branch: last(h.responses('INVITE')).headers.get('via')!.split('branch=')[1]! }));
  t.equal(call.state, 'confirmed');
});

t.test('re-INVITE without a handler answers with the last SDP we sent; a late-offer re-INVITE too', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  h.receive(inDialog(call, { method: 'INVITE', cseq: 2, body: HOLD_SDP }));
  t.equal(last(h.responses('INVITE')).body.toString('utf8'), ANSWER_SDP);
  h.receive(ackFor(call, 2));
  const seen: Array<string | null> = [];
  call.setReinviteHandler((offer) => (seen.push(offer), ANSWER_SDP));
  h.receive(inDialog(call, { method: 'INVITE', cseq: 3 }));
  t.same(seen, [null], 'no body: the handler is asked for an offer');
  t.equal(last(h.responses('INVITE')).status, 200);
  h.receive(ackFor(call, 3));
  const done = call.hangup();
  h.receiveResponse(answerTo(h.sentRequests('BYE')[0]!.request, 200));
  await done;
  drained(t, h);
});

t.test('re-INVITE left without ACK: the call is ended with BYE after 64*T1', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const events = watch(call);
  h.receive(inDialog(call, { method: 'INVITE', cseq: 2, body: HOLD_SDP }));
  h.clock.advance(64 * T1);
  t.equal(h.sentRequests('BYE').length, 1, 'BYE after the re-INVITE 2xx was never ACKed');
  t.same(events, ['ended:local-bye']);
  h.receiveResponse(answerTo(h.sentRequests('BYE')[0]!.request, 200));
  drained(t, h);
});

t.test('requests in an unknown dialog get 481', async (t) => {
  const h = uaHarness();
  await confirmed(h);
  for (const method of ['BYE', 'INFO', 'NOTIFY', 'INVITE']) {
    h.receive(request({ method, toTag: 'not-ours', cseq: 5 }));
    t.equal(last(h.responses(method)).status, 481, `${method} with an unknown To tag`);
  }
  h.receive(request({ method: 'BYE', toTag: h.calls[0]!.localTag, fromTag: 'other-caller', cseq: 5 }));
  t.equal(last(h.responses('BYE')).status, 481, 'our tag but another remote tag');
  h.receive(request({ method: 'BYE', cseq: 5 }));
  t.equal(last(h.responses('BYE')).status, 481, 'a BYE without To tag');
  t.equal(h.calls[0]!.state, 'confirmed');
});

t.test('OPTIONS: 200 with Allow and Accept; 503 with Retry-After while not accepting', async (t) => {
  const h = uaHarness();
  h.receive(request({ method: 'OPTIONS' }));
  const ok = last(h.responses('OPTIONS'));
  t.equal(ok.status, 200);
  t.ok(ok.headers.values('allow').includes('INVITE'), 'Allow');
  t.ok(ok.headers.values('accept').includes('application/sdp'), 'Accept: application/sdp');
  t.ok(tagOf(parseNameAddr(ok.headers.get('to')!)), 'To tag on a final response');
  h.setAccepting(false);
  h.receive(request({ method: 'OPTIONS', cseq: 2 }));
  const busy = last(h.responses('OPTIONS'));
  t.equal(busy.status, 503);
  t.equal(busy.headers.get('retry-after'), String(RETRY_AFTER_S));
  h.receive(request({ method: 'OPTIONS', cseq: 3, headers: [['max-forwards', '0']], without: ['max-forwards'] }));
  t.equal(last(h.responses('OPTIONS')).status, 503, 'Max-Forwards 0 OPTIONS is answered by us, not 483');
  t.equal(h.calls.length, 0);
});

t.test('REGISTER and SUBSCRIBE get 405 with Allow; an unknown method 501', async (t) => {
  const h = uaHarness();
  for (const method of ['REGISTER', 'SUBSCRIBE', 'REFER', 'MESSAGE']) {
    h.receive(request({ method }));
    const r = last(h.responses(method));
    t.equal(r.status, 405, method);
    t.ok(r.headers.values('allow').includes('INVITE'), `${method}: Allow`);
    t.notOk(r.headers.values('allow').includes(method), `${method} is not in Allow`);
  }
  h.receive(request({ method: 'FROBNICATE' }));
  t.equal(last(h.responses('FROBNICATE')).status, 501);
});

t.test('Max-Forwards 0 on an INVITE gets 483 and no call', async (t) => {
  const h = uaHarness();
  h.receive(invite({ without: ['max-forwards'], headers: [['max-forwards', '0']] }));
  t.same(statuses(h.responses()), [100, 483]);
  t.equal(h.calls.length, 0);
  drained(t, h);
});

t.test('Require: 100rel gets 420 with Unsupported', async (t) => {
  const h = uaHarness();
  h.receive(invite({ headers: [['require', '100rel']] }));
  const r = last(h.responses());
  t.equal(r.status, 420);
  t.equal(r.headers.get('unsupported'), '100rel');
  t.equal(h.calls.length, 0);
  h.receive(invite({ callId: 'two', headers: [['require', 'timer, 100rel']] }));
  t.same(last(h.responses()).headers.values('unsupported'), ['timer', '100rel'], 'every unknown extension is listed');
  h.receive(invite({ callId: 'three', headers: [['supported', '100rel, timer']] }));
  t.equal(h.calls.length, 1, 'Supported alone is fine');
});

t.test('an INVITE with a non-SDP body gets 415 with Accept', async (t) => {
  const h = uaHarness();
  h.receive(invite({ contentType: 'text/plain', body: 'hello' }));
  const r = last(h.responses());
  t.equal(r.status, 415);
  t.equal(r.headers.get('accept'), 'application/sdp');
  t.equal(h.calls.length, 0);
  drained(t, h);
});

t.test('an out-of-order CSeq in the dialog gets 500', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h, { cseq: 10 });
  const events = watch(call);
  h.receive(inDialog(call, { method: 'INFO', cseq: 9, contentType: 'application/dtmf-relay', body: 'Signal=1\r\nDuration=160\r\n' }));
  t.equal(last(h.responses('INFO')).status, 500);
  h.receive(inDialog(call, { method: 'BYE', cseq: 3 }));
  t.equal(last(h.responses('BYE')).status, 500, 'an old-CSeq BYE is refused');
  t.same(events, [], 'neither reached the call');
  t.equal(call.state, 'confirmed');
  h.receive(inDialog(call, { method: 'BYE', cseq: 11 }));
  t.same(events, ['ended:remote-bye']);
});

t.test('INFO in the dialog: 200 and an `info` event', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const events = watch(call);
  h.receive(inDialog(call, { method: 'INFO', cseq: 2, contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=160\r\n' }));
  t.equal(last(h.responses('INFO')).status, 200);
  t.same(events, ['info:application/dtmf-relay:Signal=5\r\nDuration=160\r\n']);
  h.receive(inDialog(call, { method: 'INFO', cseq: 3 }));
  t.same(events[1], 'info:null:', 'an empty INFO (keep-alive) too');
});

t.test('REFER: refer() resolves from the NOTIFY sipfrag', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  let result: unknown;
  const p = call.refer('sip:+15550111@elsewhere.example').then((r) => (result = r));
  const refs = h.sentRequests('REFER');
  t.equal(refs.length, 1);
  const refer = refs[0]!.request;
  t.equal(refer.headers.get('refer-to'), '<sip:+15550111@elsewhere.example>');
  t.equal(refer.headers.get('referred-by'), '<sip:+15550199@gw.example>');
  t.equal(tagOf(parseNameAddr(refer.headers.get('from')!)), call.localTag);
  h.receiveResponse(answerTo(refer, 202));
  await flush();
  t.equal(result, undefined, '202 alone does not settle the transfer');
  const notify = (cseq: number, frag: string, state: string) =>
    inDialog(call, {
      method: 'NOTIFY',
      cseq,
      contentType: 'message/sipfrag;version=2.0',
      body: frag,
      headers: [
        ['event', 'refer'],
        ['subscription-state', state],
      ],
    });
  h.receive(notify(2, 'SIP/2.0 100 Trying\r\n', 'active;expires=60'));
  await flush();
  t.equal(result, undefined, 'a provisional sipfrag is progress only');
  h.receive(notify(3, 'SIP/2.0 200 OK\r\n', 'terminated;reason=noresource'));
  await p;
  t.same(result, { status: 200, reason: 'OK' });
  t.same(statuses(h.responses('NOTIFY')), [200, 200], 'both NOTIFYs answered 200');
  t.equal(call.state, 'confirmed');
});

t.test('REFER rejected with 403: refer() resolves with 403', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const p = call.refer('sip:+15550111@elsewhere.example');
  const refer = h.sentRequests('REFER')[0]!.request;
  h.receiveResponse(answerTo(refer, 403, 'Forbidden'));
  t.same(await p, { status: 403, reason: 'Forbidden' });
  t.equal(call.state, 'confirmed', 'a refused transfer leaves the call up');
});

t.test('REFER with no answer resolves 408 after Timer F; REFER pending at hangup resolves too', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const p = call.refer('sip:+15550111@elsewhere.example');
  h.clock.advance(64 * T1);
  t.same(await p, { status: 408, reason: 'Request Timeout' });

  const p2 = call.refer('sip:+15550112@elsewhere.example');
  const second = last(h.sentRequests('REFER')).request;
  t.equal(second.headers.get('refer-to'), '<sip:+15550112@elsewhere.example>');
  h.receiveResponse(answerTo(second, 202));
  await flush();
  const done = call.hangup();
  t.same(await p2, { status: 487, reason: 'call ended' }, 'a transfer in progress ends with the call');
  h.receiveResponse(answerTo(h.sentRequests('BYE')[0]!.request, 200));
  await done;
  drained(t, h);
});

t.test('hangup before answer rejects with 480; reject() sends the final response with our headers', async (t) => {
  const h = uaHarness();
  h.receive(invite());
  const a = h.calls[0]!;
  const ea = watch(a);
  await a.hangup();
  t.equal(last(h.responses()).status, 480);
  t.same(ea, ['ended:rejected']);

  h.receive(invite({ callId: 'busy' }));
  const b = h.calls[1]!;
  b.reject(503, { headers: { 'Retry-After': '30', 'WWW-Authenticate': ['Digest realm="a"', 'Digest realm="b"'] } });
  const r = last(h.responses());
  t.equal(r.status, 503);
  t.equal(r.headers.get('retry-after'), '30');
  t.same(r.headers.getAll('www-authenticate'), ['Digest realm="a"', 'Digest realm="b"']);
  t.throws(() => h.calls[1]!.reject(200), TypeError);
  h.receive(invite({ callId: 'bad-status' }));
  t.throws(() => h.calls[2]!.reject(200), TypeError, 'reject needs 3xx-6xx');
  h.calls[2]!.reject(404);
  drained(t, h);
});

t.test('nothing is left on the clock after a busy mix of calls ends', async (t) => {
  const h = uaHarness();
  // answered + remote BYE
  const a = await confirmed(h, { callId: 'a' });
  h.receive(inDialog(a, { method: 'BYE', callId: 'a', cseq: 2 }));
  // cancelled
  h.receive(invite({ callId: 'b', branch: 'z9hG4bKb' }));
  h.receive(request({ method: 'CANCEL', callId: 'b', branch: 'z9hG4bKb' }));
  // rejected, ACKed
  h.receive(invite({ callId: 'c', branch: 'z9hG4bKc' }));
  last(h.calls).reject(486);
  h.receive(request({ method: 'ACK', callId: 'c', branch: 'z9hG4bKc', toTag: last(h.calls).localTag }));
  // rejected, never ACKed (Timer H)
  h.receive(invite({ callId: 'd' }));
  last(h.calls).reject(404);
  // answered, never ACKed (no-ack BYE, never answered: Timer F)
  await answered(h, { callId: 'e' });
  // local hangup
  const f = await confirmed(h, { callId: 'f' });
  void f.hangup();
  h.receive(request({ method: 'OPTIONS', callId: 'g' }));
  h.clock.advance(64 * T1);
  h.clock.advance(64 * T1 + T4 + 1000);
  t.equal(h.core.calls().length, 0, 'every call ended');
  t.equal(h.layer.serverTransactionCount, 0, 'no server transaction left');
  t.equal(h.layer.clientTransactionCount, 0, 'no client transaction left');
  t.equal(h.clock.pendingTimers(), 0, 'no timer left on the clock');
});

t.test('a Request-URI scheme we do not serve gets 416 (§8.2.2.1); sip, sips and tel are served', async (t) => {
  const h = uaHarness();
  h.receive(request({ method: 'OPTIONS', uri: 'soap.beep://192.0.2.103:3002' }));
  t.equal(last(h.responses()).status, 416);
  t.equal(last(h.responses()).reason, 'Unsupported URI Scheme');
  h.receive(invite({ uri: 'nobodyKnowsThisScheme:totallyopaquecontent', callId: 'x' }));
  t.equal(last(h.responses()).status, 416);
  t.equal(h.calls.length, 0);
  h.receive(invite({ uri: 'SIPS:+15550199@gw.example', callId: 'sips' }));
  h.receive(invite({ uri: 'tel:+15550199', callId: 'tel' }));
  t.equal(h.calls.length, 2);
});

t.test('Referred-By is our URI alone, also when the INVITE To was an addr-spec', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h, { without: ['to'], headers: [['to', 'sip:+15550199@gw.example']] });
  void call.refer('sip:+15550111@elsewhere.example');
  const refer = last(h.sentRequests('REFER')).request;
  t.equal(refer.headers.get('referred-by'), '<sip:+15550199@gw.example>', 'no ;tag= inside the URI');
  t.equal(tagOf(parseNameAddr(refer.headers.get('from')!)), call.localTag, 'From still carries our tag as a header parameter');
});

t.test('a call handler that throws costs that call a 500, nothing more', async (t) => {
  const h = uaHarness((call) => {
    if (call.info.callId === 'boom') throw new Error('controller bug');
  });
  h.receive(invite({ callId: 'boom' }));
  t.same(statuses(h.responses()), [100, 500]);
  t.equal(h.calls[0]!.state, 'ended');
  h.receive(invite({ callId: 'fine' }));
  t.equal(h.calls[1]!.state, 'offered', 'the next call is offered normally');
  h.calls[1]!.reject(486);
  drained(t, h);
});

t.test('a reinvite handler that throws: 500 to the re-INVITE and the call is hung up', async (t) => {
  const h = uaHarness();
  const call = await confirmed(h);
  const events = watch(call);
  call.setReinviteHandler(() => {
    throw new Error('media bug');
  });
  h.receive(inDialog(call, { method: 'INVITE', cseq: 2, body: HOLD_SDP }));
  t.equal(last(h.responses('INVITE')).status, 500);
  t.equal(h.sentRequests('BYE').length, 1, 'BYE sent');
  t.same(events, ['ended:local-bye']);
  h.receiveResponse(answerTo(h.sentRequests('BYE')[0]!.request, 200));
  drained(t, h);
});

// ── Corner cases of RFC 3261 the first version of the core got wrong (early-dialog BYE, BYE
// before ACK, re-INVITE ACK matching, Accept, merged requests, in-dialog OPTIONS).

t.test(
  'a BYE in the early dialog (after our 180 with a tag) gets 200, the INVITE 487, and the call ends (§15, §15.1.2)',
  async (t) => {
    const h = uaHarness();
    h.receive(invite());
    const call = h.calls[0]!;
    const events = watch(call);
    call.progress(180);
    h.receive(inDialog(call, { method: 'BYE', cseq: 2 }));
    t.equal(last(h.responses('BYE')).status, 200, 'the BYE is answered 200');
    t.equal(last(h.responses('INVITE')).status, 487, 'the INVITE gets 487');
    t.same(events, ['ended:remote-bye'], 'the call ends');
  },
);

t.test(
  'hangup() before the ACK waits for the ACK (or 64*T1) before sending BYE (§15: MUST NOT BYE before ACK)',
  async (t) => {
    const h = uaHarness();
    const call = await answered(h);
    void call.hangup();
    t.equal(h.sentRequests('BYE').length, 0, 'no BYE while the 2xx is unacknowledged');
    h.receive(ackFor(call));
    t.equal(h.sentRequests('BYE').length, 1, 'BYE right after the ACK');
  },
);

t.test(
  'only the ACK of the re-INVITE (same CSeq) stops its 2xx retransmissions (§13.3.1.4)',
  async (t) => {
    const h = uaHarness();
    const call = await confirmed(h);
    h.receive(inDialog(call, { method: 'INVITE', cseq: 2, body: HOLD_SDP }));
    h.receive(ackFor(call, 1)); // a duplicated ACK of the first INVITE, late
    h.clock.advance(T1);
    t.equal(h.responses('INVITE').filter((r) => r.status === 200 && r.headers.get('cseq') === '2 INVITE').length, 2, 'still retransmitted');
  },
);

t.test(
  'an INVITE whose Accept excludes application/sdp gets 406 (RFC 4475 §3.3.15 sdp01)',
  async (t) => {
    const h = uaHarness();
    h.receive(invite({ headers: [['accept', 'text/nobodyknowsthis']] }));
    t.equal(last(h.responses()).status, 406, '406 Not Acceptable');
    t.equal(h.calls.length, 0, 'no call');
  },
);

t.test(
  'a merged INVITE (same Call-ID, From tag and CSeq, another branch) gets 482 and no second call (§8.2.2.2)',
  async (t) => {
    const h = uaHarness();
    h.receive(invite({ branch: 'z9hG4bKpath1' }));
    h.receive(invite({ branch: 'z9hG4bKpath2', viaHost: '203.0.113.9:5060' }));
    t.equal(h.calls.length, 1, 'one call');
    t.equal(last(h.responses()).status, 482, '482 Loop Detected');
    for (const c of h.calls) c.reject(480);
  },
);

t.test(
  'an in-dialog OPTIONS is a dialog probe: 481 when the dialog is gone, 200 while it lives (even when draining) (§12.2.2)',
  async (t) => {
    const h = uaHarness();
    const call = await confirmed(h);
    h.setAccepting(false);
    h.receive(inDialog(call, { method: 'OPTIONS', cseq: 2 }));
    t.equal(last(h.responses('OPTIONS')).status, 200, 'the live dialog answers 200 while draining');
    h.receive(inDialog(call, { method: 'BYE', cseq: 3 }));
    h.setAccepting(true);
    h.receive(inDialog(call, { method: 'OPTIONS', cseq: 4 }));
    t.equal(last(h.responses('OPTIONS')).status, 481, 'the ended dialog answers 481');
  },
);
