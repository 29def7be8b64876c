import t from 'tap';
import { SipHeaders, type SipRequest } from '../../../src/sip/embedded/message/types.js';
import type { ClientOutcome } from '../../../src/sip/embedded/transaction/non-invite-client-transaction.js';
import type { TransportProtocol } from '../../../src/sip/embedded/transport/types.js';
import { flush, responseTo } from './fake-transport.js';
import { harness } from './harness.js';

function byeToSend(): SipRequest {
  const headers = new SipHeaders();
  headers.append('max-forwards', '70');
  headers.append('from', '<sip:+15550199@gw.example>;tag=gw1');
  headers.append('to', '<sip:+15550100@carrier.example>;tag=from1');
  headers.append('call-id', 'call-1@carrier.example');
  headers.append('cseq', '1 BYE');
  return { kind: 'request', method: 'BYE', uri: 'sip:carrier.example', headers, body: Buffer.alloc(0) };
}

function send(transport: TransportProtocol = 'udp') {
  const h = harness();
  const provisional: number[] = [];
  const tx = h.layer.sendRequest(
    byeToSend(),
    { host: '198.51.100.7', port: 5060, transport },
    { onProvisional: (r) => provisional.push(r.status) },
  );
  let outcome: ClientOutcome | undefined;
  void tx.outcome.then((o) => (outcome = o));
  const byeTimes = () => h.transport.requests().map((r) => r.at);
  return { h, tx, provisional, byeTimes, outcome: () => outcome };
}

t.test('the layer adds our Via with a fresh magic-cookie branch and rport', async (t) => {
  const { tx } = send();
  const via = tx.request.headers.get('via')!;
  t.match(via, /^SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK[0-9a-f]+[0-9a-z]+;rport$/);
  const other = send().tx.request.headers.get('via');
  t.not(via, other, 'branches differ');
});

t.test('Timer E: 500, 1000, 2000, 4000, 4000 … after a lost first send; final response; Timer K', async (t) => {
  const h = harness();
  h.transport.dropNextOnce();
  const tx = h.layer.sendRequest(byeToSend(), { host: '198.51.100.7', port: 5060, transport: 'udp' });
  let outcome: ClientOutcome | undefined;
  void tx.outcome.then((o) => (outcome = o));
  t.equal(h.transport.dropped.length, 1, 'the first BYE was lost');
  h.clock.advance(16_000);
  const times = h.transport.requests().map((r) => r.at);
  t.same(times, [500, 1500, 3500, 7500, 11500, 15500]);
  t.same(times.slice(1).map((x, i) => x - times[i]!), [1000, 2000, 4000, 4000, 4000]);
  tx.receive(responseTo(tx.request, 200));
  await flush();
  t.equal(outcome?.kind, 'response');
  t.equal(outcome?.kind === 'response' ? outcome.response.status : 0, 200);
  t.equal(tx.state, 'completed');
  h.clock.advance(10_000);
  t.equal(h.transport.requests().length, 6, 'no retransmissions once Completed');
  t.equal(tx.state, 'terminated', 'Timer K (T4) ended it');
  t.equal(h.layer.clientTransactionCount, 0);
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('responses are matched through the layer by branch and CSeq method', async (t) => {
  const { h, tx, outcome } = send();
  const wrongMethod = responseTo(tx.request, 200);
  wrongMethod.headers.set('cseq', '1 INFO');
  h.layer.receiveResponse(wrongMethod, { address: '198.51.100.7', port: 5060, transport: 'udp', localAddress: '', localPort: 0 });
  t.equal(h.strays.length, 1, 'same branch, other method: not ours');
  h.layer.receiveResponse(responseTo(tx.request, 200), { address: '198.51.100.7', port: 5060, transport: 'udp', localAddress: '', localPort: 0 });
  await flush();
  t.equal(outcome()?.kind, 'response');
});

t.test('Proceeding: 1xx reported, retransmissions every T2', async (t) => {
  const { h, tx, provisional, byeTimes } = send();
  h.clock.advance(600); // retransmission at 500
  tx.receive(responseTo(tx.request, 100));
  t.equal(tx.state, 'proceeding');
  t.same(provisional, [100]);
  h.clock.advance(10_000);
  t.same(byeTimes(), [0, 500, 1500, 5500, 9500], 'E armed at 1000 fired at 1500 in Proceeding, then T2');
});

t.test('Timer F: timeout reported at 64*T1, no timers remain', async (t) => {
  const { h, tx, outcome } = send();
  h.clock.advance(31_999);
  await flush();
  t.equal(outcome(), undefined);
  h.clock.advance(1);
  await flush();
  t.same(outcome(), { kind: 'timeout' });
  t.equal(tx.state, 'terminated');
  t.equal(h.layer.clientTransactionCount, 0);
  t.equal(h.clock.pendingTimers(), 0);
  tx.receive(responseTo(tx.request, 200)); // too late: ignored
  await flush();
  t.same(outcome(), { kind: 'timeout' });
});

t.test('over TCP: no retransmissions, Timer K = 0', async (t) => {
  const { h, tx, byeTimes, outcome } = send('tcp');
  h.clock.advance(20_000);
  t.same(byeTimes(), [0]);
  tx.receive(responseTo(tx.request, 481));
  await flush();
  t.equal(outcome()?.kind, 'response');
  t.equal(tx.state, 'terminated');
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('a transport error is reported and ends the transaction', async (t) => {
  const h = harness();
  h.transport.failNextOnce(new Error('ECONNREFUSED'));
  const tx = h.layer.sendRequest(byeToSend(), { host: '198.51.100.7', port: 5061, transport: 'tls' });
  const outcome = await tx.outcome;
  t.equal(outcome.kind, 'transport-error');
  t.equal(outcome.kind === 'transport-error' ? outcome.error.message : '', 'ECONNREFUSED');
  t.equal(tx.state, 'terminated');
  t.equal(h.clock.pendingTimers(), 0);
});

t.test('INVITE, ACK and requests with a Via are refused', async (t) => {
  const h = harness();
  const target = { host: '198.51.100.7', port: 5060, transport: 'udp' as const };
  t.throws(() => h.layer.sendRequest({ ...byeToSend(), method: 'INVITE' }, target), TypeError);
  t.throws(() => h.layer.sendRequest({ ...byeToSend(), method: 'ACK' }, target), TypeError);
  const withVia = byeToSend();
  withVia.headers.append('via', 'SIP/2.0/UDP x');
  t.throws(() => h.layer.sendRequest(withVia, target), TypeError);
});

t.test('close() resolves pending outcomes and clears every timer', async (t) => {
  const { h, outcome } = send();
  h.layer.receiveRequest(
    (await import('./fake-transport.js')).makeRequest({ method: 'INVITE' }),
    (await import('./fake-transport.js')).udpSource(),
  );
  h.layer.close();
  await flush();
  t.equal(outcome()?.kind, 'transport-error');
  t.equal(h.clock.pendingTimers(), 0);
});
