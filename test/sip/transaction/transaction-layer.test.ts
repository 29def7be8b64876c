import t from 'tap';
import { makeResponse } from '../../../src/sip/embedded/transaction/make-response.js';
import { makeRequest, udpSource } from './fake-transport.js';
import { harness } from './harness.js';

t.test('CANCEL is matched to the INVITE server transaction; TU answers 200 and 487', async (t) => {
  const h = harness();
  h.layer.receiveRequest(makeRequest({ method: 'INVITE' }), udpSource());
  const inviteTx = h.requests[0]!.tx;
  h.layer.receiveRequest(makeRequest({ method: 'CANCEL' }), udpSource());
  t.equal(h.cancels.length, 1);
  const c = h.cancels[0]!;
  t.equal(c.invite, inviteTx, 'same branch, method INVITE');
  t.equal(h.requests.length, 1, 'CANCEL does not go to onRequest');
  c.cancelTx.respond(makeResponse(c.cancel, 200));
  c.invite!.respond(makeResponse(c.invite!.request, 487, { toTag: 'gw1' }));
  t.same(h.transport.responses().map((r) => r.status), [100, 200, 487]);
  // A retransmitted CANCEL gets its 200 again from its own transaction.
  h.layer.receiveRequest(makeRequest({ method: 'CANCEL' }), udpSource());
  t.equal(h.cancels.length, 1);
  t.same(h.transport.responses().map((r) => r.status), [100, 200, 487, 200]);
  // The ACK for the 487 is absorbed by the INVITE transaction.
  h.layer.receiveRequest(makeRequest({ method: 'ACK', toTag: 'gw1' }), udpSource());
  t.equal(h.acks.length, 0);
  t.equal(c.invite!.state, 'confirmed');
});

t.test('a CANCEL for no known INVITE reaches the TU with invite undefined (it answers 481)', async (t) => {
  const h = harness();
  h.layer.receiveRequest(makeRequest({ method: 'CANCEL', branch: 'z9hG4bKnothing' }), udpSource());
  t.equal(h.cancels.length, 1);
  t.equal(h.cancels[0]!.invite, undefined);
});

t.test('same branch from another sent-by is another transaction', async (t) => {
  const h = harness();
  h.layer.receiveRequest(makeRequest({ method: 'INVITE' }), udpSource());
  h.layer.receiveRequest(makeRequest({ method: 'INVITE', viaHost: '203.0.113.9:5060' }), udpSource());
  t.equal(h.requests.length, 2);
});

t.test('RFC 2543 clients (no magic cookie) are matched on Call-ID, From tag, CSeq, URI and Via', async (t) => {
  const h = harness();
  const old = (extra: Parameters<typeof makeRequest>[0]) => makeRequest({ branch: null, ...extra });
  h.layer.receiveRequest(old({ method: 'INVITE' }), udpSource());
  h.layer.receiveRequest(old({ method: 'INVITE' }), udpSource());
  t.equal(h.requests.length, 1, 'the retransmission matched');
  t.same(h.transport.responses().map((r) => r.status), [100, 100]);
  h.layer.receiveRequest(old({ method: 'INVITE', cseq: 2 }), udpSource());
  t.equal(h.requests.length, 2, 'a new CSeq is a new transaction');
  h.layer.receiveRequest(old({ method: 'INVITE', fromTag: 'other' }), udpSource());
  t.equal(h.requests.length, 3, 'a new From tag is a new transaction');
  const tx = h.requests[0]!.tx;
  tx.respond(makeResponse(tx.request, 486, { toTag: 'gw1' }));
  h.layer.receiveRequest(old({ method: 'ACK', toTag: 'gw1' }), udpSource());
  t.equal(tx.state, 'confirmed', 'the ACK matched the INVITE');
  h.layer.receiveRequest(old({ method: 'CANCEL', cseq: 2 }), udpSource());
  t.equal(h.cancels[0]!.invite, h.requests[1]!.tx, 'CANCEL matched its INVITE');
  // Branch-less and cookie-less (RFC 2543 branch) both take this path.
  h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: '1234' }), udpSource());
  h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: '1234' }), udpSource());
  t.equal(h.requests.filter((r) => r.request.method === 'OPTIONS').length, 1);
});

t.test('an ACK matching nothing goes to the TU (the 2xx ACK belongs to the dialog)', async (t) => {
  const h = harness();
  h.layer.receiveRequest(makeRequest({ method: 'ACK', branch: 'z9hG4bKlone', toTag: 'gw1' }), udpSource());
  t.equal(h.acks.length, 1);
  t.equal(h.layer.serverTransactionCount, 0, 'ACK never creates a transaction');
});
