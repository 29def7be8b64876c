import t from 'tap';
import { makeResponse } from '../../../src/sip/embedded/transaction/make-response.js';
import type { InviteServerTransaction } from '../../../src/sip/embedded/transaction/invite-server-transaction.js';
import { Uas2xxRetransmitter } from '../../../src/sip/embedded/transaction/uas-2xx-retransmitter.js';
import { makeRequest, tcpSource, udpSource } from './fake-transport.js';
import { harness } from './harness.js';

function setup(source = udpSource()) {
  const h = harness();
  h.layer.receiveRequest(makeRequest({ method: 'INVITE' }), source);
  const tx = h.requests[0]!.tx as InviteServerTransaction;
  tx.respond(makeResponse(tx.request, 200, { toTag: 'gw1' }));
  let noAck = 0;
  const rtx = new Uas2xxRetransmitter({
    clock: h.clock,
    timers: h.layer.timersFor(source.transport),
    retransmit: () => tx.resend2xx(),
    onNoAck: () => noAck++,
  });
  rtx.start();
  const okTimes = () => h.transport.responses().filter((r) => r.status === 200).map((r) => r.at);
  return { h, tx, rtx, okTimes, noAck: () => noAck };
}

t.test('2xx retransmitted at T1 doubling to T2, stopped by the ACK', async (t) => {
  const { h, rtx, okTimes, noAck } = setup();
  h.clock.advance(8_000);
  t.same(okTimes(), [0, 500, 1500, 3500, 7500], 'intervals 500, 1000, 2000, 4000');
  h.clock.advance(4_000);
  t.same(okTimes(), [0, 500, 1500, 3500, 7500, 11500], 'then every T2');
  // The 2xx ACK has its own branch: no transaction matches, the TU gets it.
  h.layer.receiveRequest(makeRequest({ method: 'ACK', branch: 'z9hG4bKack2xx', toTag: 'gw1' }), udpSource());
  t.equal(h.acks.length, 1);
  rtx.ackReceived();
  t.equal(rtx.state, 'acked');
  h.clock.advance(60_000);
  t.equal(okTimes().length, 6, 'nothing after the ACK');
  t.equal(noAck(), 0);
  t.equal(h.clock.pendingTimers(), 0, 'no timers left (Timer L ran out too)');
});

t.test('no ACK within 64*T1: gives up and reports it once', async (t) => {
  const { h, rtx, okTimes, noAck } = setup();
  h.clock.advance(31_999);
  t.equal(noAck(), 0);
  h.clock.advance(1);
  t.equal(noAck(), 1, 'reported at 32 s so the UA can send BYE');
  t.equal(rtx.state, 'gave-up');
  t.same(okTimes(), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  t.equal(rtx.retransmissions, 10);
  h.clock.advance(60_000);
  t.equal(noAck(), 1);
  t.equal(okTimes().length, 11);
  rtx.ackReceived(); // a late ACK changes nothing
  t.equal(rtx.state, 'gave-up');
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('retransmits over TCP too (the 2xx is end to end)', async (t) => {
  const { h, rtx, okTimes } = setup(tcpSource());
  h.clock.advance(2_000);
  t.same(okTimes(), [0, 500, 1500]);
  rtx.stop();
  t.equal(rtx.state, 'stopped');
  h.clock.advance(40_000);
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('bad arguments are TypeErrors', async (t) => {
  const h = harness();
  t.throws(
    () => new Uas2xxRetransmitter({ clock: h.clock, timers: h.layer.timersFor('udp'), retransmit: undefined as never, onNoAck: () => 0 }),
    TypeError,
  );
});
