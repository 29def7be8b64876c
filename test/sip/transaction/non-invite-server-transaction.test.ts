import t from 'tap';
import { makeResponse } from '../../../src/sip/embedded/transaction/make-response.js';
import { InvalidStateError } from '../../../src/sip/embedded/transaction/types.js';
import { makeRequest, tcpSource, udpSource } from './fake-transport.js';
import { harness } from './harness.js';

const bye = () => makeRequest({ method: 'BYE', cseq: 2, toTag: 'gw1', branch: 'z9hG4bKbye1' });

t.test('retransmissions absorbed in Trying, answered with the final from Completed; Timer J cleans up', async (t) => {
  const h = harness();
  h.layer.receiveRequest(bye(), udpSource());
  const tx = h.requests[0]!.tx;
  t.equal(tx.state, 'trying');
  t.equal(h.transport.sent.length, 0, 'no automatic 100 for non-INVITE');
  h.layer.receiveRequest(bye(), udpSource());
  t.equal(h.transport.sent.length, 0, 'absorbed in Trying');
  tx.respond(makeResponse(tx.request, 200));
  t.equal(tx.state, 'completed');
  h.clock.advance(1000);
  h.layer.receiveRequest(bye(), udpSource());
  h.layer.receiveRequest(bye(), udpSource());
  t.same(h.transport.responses(), [
    { status: 200, at: 0 },
    { status: 200, at: 1000 },
    { status: 200, at: 1000 },
  ]);
  t.equal(h.requests.length, 1, 'the TU saw the BYE once');
  t.throws(() => tx.respond(makeResponse(tx.request, 500)), InvalidStateError);
  h.clock.advance(31_000); // Timer J = 64*T1 = 32000 from the 200 at 0
  t.equal(tx.state, 'terminated');
  t.equal(h.layer.serverTransactionCount, 0);
  t.equal(h.clock.pendingTimers(), 0);
  // After Timer J the same branch is a new request for the TU.
  h.layer.receiveRequest(bye(), udpSource());
  t.equal(h.requests.length, 2);
});

t.test('Proceeding answers retransmissions with the last provisional', async (t) => {
  const h = harness();
  h.layer.receiveRequest(bye(), udpSource());
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 183));
  t.equal(tx.state, 'proceeding');
  h.layer.receiveRequest(bye(), udpSource());
  t.same(h.transport.responses().map((r) => r.status), [183, 183]);
});

t.test('over TCP Timer J is 0: Completed ends at once', async (t) => {
  const h = harness();
  h.layer.receiveRequest(bye(), tcpSource());
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 200));
  t.equal(tx.state, 'terminated');
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('a TU that never answers does not leak the transaction', async (t) => {
  const h = harness();
  h.layer.receiveRequest(bye(), udpSource());
  h.clock.advance(32_000);
  t.same(h.failures.map((f) => [f.reason, f.at]), [['timeout', 32000]]);
  t.equal(h.layer.serverTransactionCount, 0);
  t.equal(h.clock.pendingTimers(), 0);
});
