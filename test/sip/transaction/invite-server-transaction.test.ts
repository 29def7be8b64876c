import t from 'tap';
import { InvalidStateError } from '../../../src/sip/embedded/transaction/types.js';
import { makeResponse } from '../../../src/sip/embedded/transaction/make-response.js';
import { InviteServerTransaction } from '../../../src/sip/embedded/transaction/invite-server-transaction.js';
import { flush, makeRequest, tcpSource, udpSource } from './fake-transport.js';
import { harness } from './harness.js';

function invite() {
  return makeRequest({ method: 'INVITE' });
}
function ack() {
  return makeRequest({ method: 'ACK', toTag: 'gw1' });
}

t.test('100 Trying goes out synchronously, before the TU sees the INVITE', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  t.equal(h.requests.length, 1);
  t.equal(h.requests[0]!.sentBeforeTu, 1, 'one message was on the wire when onRequest ran');
  const first = h.transport.sent[0]!;
  t.equal(first.kind, 'response');
  if (first.kind !== 'response') return;
  t.equal(first.response.status, 100);
  t.equal(first.response.headers.get('timestamp'), '54', '100 copies Timestamp (§8.2.6.1)');
  t.equal(first.response.headers.get('via'), invite().headers.get('via'));
  t.equal(first.at, 0);
  t.equal(h.requests[0]!.tx.state, 'proceeding');
});

t.test('a retransmitted INVITE gets the last provisional again', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  h.layer.receiveRequest(invite(), udpSource());
  t.same(h.transport.responses().map((r) => r.status), [100, 100], 'the 100 before any other provisional');
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 180, { toTag: 'gw1' }));
  h.layer.receiveRequest(invite(), udpSource());
  t.same(h.transport.responses().map((r) => r.status), [100, 100, 180, 180]);
  t.equal(h.requests.length, 1, 'retransmissions never reach the TU');
});

t.test('486 on UDP: Timer G doubles to T2, Timer H reports no ACK to the TU', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  const tx = h.requests[0]!.tx;
  h.transport.dropNextOnce(); // the first 486 is lost; Timer G recovers it
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  t.equal(tx.state, 'completed');
  t.equal(h.transport.dropped.length, 1);
  h.clock.advance(31_999);
  const times = h.transport.responses().filter((r) => r.status === 486).map((r) => r.at);
  t.same(times, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.same(gaps, [1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000], 'doubling capped at T2 = 4 s');
  t.equal(h.failures.length, 0);
  h.clock.advance(1);
  t.same(h.failures.map((f) => [f.reason, f.at]), [['no-ack', 32000]], 'Timer H = 64*T1');
  t.equal(tx.state, 'terminated');
  t.equal(h.layer.serverTransactionCount, 0);
  t.equal(h.clock.pendingTimers(), 0, 'no timer left behind');
});

t.test('a retransmitted INVITE in Completed gets the final response again', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  h.layer.receiveRequest(invite(), udpSource());
  t.same(h.transport.responses().map((r) => r.status), [100, 486, 486]);
});

t.test('ACK absorbs: Confirmed, retransmissions stop, Timer I ends the transaction', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  h.clock.advance(600); // one retransmission at 500
  h.layer.receiveRequest(ack(), udpSource());
  t.equal(tx.state, 'confirmed');
  t.equal(h.acks.length, 0, 'the ACK for a non-2xx never reaches the TU');
  const before = h.transport.sent.length;
  h.layer.receiveRequest(ack(), udpSource()); // a retransmitted ACK is absorbed too
  h.clock.advance(4_999);
  t.equal(h.transport.sent.length, before, 'no retransmissions after the ACK');
  t.equal(tx.state, 'confirmed');
  h.clock.advance(1); // Timer I = T4 = 5000 after the ACK at 600
  t.equal(tx.state, 'terminated');
  t.equal(h.failures.length, 0);
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('over TCP: no Timer G, and the ACK ends the transaction at once (Timer I = 0)', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), tcpSource());
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  h.clock.advance(10_000);
  t.same(h.transport.responses().map((r) => r.status), [100, 486]);
  h.layer.receiveRequest(ack(), tcpSource());
  t.equal(tx.state, 'terminated');
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('2xx: Accepted (RFC 6026) absorbs INVITE retransmissions, hands the ACK to the TU, Timer L ends it', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  const tx = h.requests[0]!.tx as InviteServerTransaction;
  const ok = makeResponse(tx.request, 200, { toTag: 'gw1' });
  tx.respond(ok);
  t.equal(tx.state, 'accepted');
  h.layer.receiveRequest(invite(), udpSource());
  t.same(h.transport.responses().map((r) => r.status), [100, 200], 'the transaction does not retransmit 2xx itself');
  tx.respond(ok); // the UAS core's retransmission passes through
  t.same(h.transport.responses().map((r) => r.status), [100, 200, 200]);
  t.throws(() => tx.respond(makeResponse(tx.request, 486)), InvalidStateError);
  h.layer.receiveRequest(ack(), udpSource());
  t.equal(h.acks.length, 1, 'ACK in Accepted goes to the TU');
  h.clock.advance(31_999);
  t.equal(tx.state, 'accepted');
  h.clock.advance(1);
  t.equal(tx.state, 'terminated');
  t.equal(h.clock.pendingTimers(), 0);
  tx.resend2xx();
  t.equal(h.transport.responses().length, 4, 'resend2xx still works after Timer L');
});

t.test('a second final response is an InvalidStateError', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), udpSource());
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  t.throws(() => tx.respond(makeResponse(tx.request, 603, { toTag: 'gw1' })), InvalidStateError);
});

t.test('a transport error terminates the transaction and tells the TU', async (t) => {
  const h = harness();
  h.layer.receiveRequest(invite(), tcpSource());
  const tx = h.requests[0]!.tx;
  h.transport.failNextOnce(new Error('connection reset'));
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  await flush();
  t.equal(tx.state, 'terminated');
  t.same(h.failures.map((f) => f.reason), ['transport-error']);
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('constructed alone, it needs no layer', async (t) => {
  const h = harness();
  let ended = 0;
  const tx = new InviteServerTransaction({
    id: 'x',
    request: invite(),
    source: udpSource(),
    transport: h.transport,
    clock: h.clock,
    timers: h.layer.timersFor('udp'),
    hooks: { terminated: () => ended++, failed: () => undefined },
  });
  tx.sendTrying();
  tx.sendTrying();
  t.same(h.transport.responses().map((r) => r.status), [100], 'sendTrying is idempotent');
  tx.terminate();
  tx.terminate();
  t.equal(ended, 1, 'terminated is reported once');
});
