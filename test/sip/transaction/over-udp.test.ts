/**
 * The two layers wired together over a real UDP socket on 127.0.0.1 (systemClock): what a
 * carrier sees for an INVITE the TU rejects, and for a CANCEL.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { systemClock } from '../../../src/core/clock.js';
import { parseMessage } from '../../../src/sip/embedded/message/index.js';
import type { SipResponse } from '../../../src/sip/embedded/message/types.js';
import { TransportLayer } from '../../../src/sip/embedded/transport/transport-layer.js';
import { UdpTransport } from '../../../src/sip/embedded/transport/udp-transport.js';
import { TransactionLayer, type ServerTransaction } from '../../../src/sip/embedded/transaction/transaction-layer.js';
import { makeResponse } from '../../../src/sip/embedded/transaction/make-response.js';

function request(method: string, port: number, branch: string, cseqMethod = method): Buffer {
  return Buffer.from(
    `${method} sip:+15550199@127.0.0.1 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:+15550100@carrier.example>;tag=a1\r\n` +
      `To: <sip:+15550199@gw.example>${method === 'ACK' ? ';tag=gw1' : ''}\r\n` +
      `Call-ID: udp-1@carrier.example\r\nCSeq: 1 ${cseqMethod}\r\nContent-Length: 0\r\n\r\n`,
  );
}

t.test('INVITE → 100 at once, TU 486 → ACK confirms; CANCEL → 200 + 487', async (t) => {
  const transportLayer = new TransportLayer({ transports: [new UdpTransport({ host: '127.0.0.1', port: 0 })] });
  await transportLayer.start();
  const txs: ServerTransaction[] = [];
  const layer = new TransactionLayer({
    transport: transportLayer,
    clock: systemClock,
    tu: {
      onRequest: (_r, tx) => txs.push(tx),
      onAck: () => undefined,
      onCancel: (cancel, cancelTx, invite) => {
        cancelTx.respond(makeResponse(cancel, invite === undefined ? 481 : 200, { toTag: 'gw1' }));
        invite?.respond(makeResponse(invite.request, 487, { toTag: 'gw1' }));
      },
    },
  });
  transportLayer.on('request', (r, s) => layer.receiveRequest(r, s));
  transportLayer.on('response', (r, s) => layer.receiveResponse(r, s));
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const port = transportLayer.listTransports()[0]!.address()!.port;
  const inbox: SipResponse[] = [];
  const waiters: Array<() => void> = [];
  peer.on('message', (m) => {
    inbox.push(parseMessage(m) as SipResponse);
    waiters.shift()?.();
  });
  const nextResponse = async (): Promise<SipResponse> => {
    if (inbox.length === 0) await new Promise<void>((r) => waiters.push(r));
    return inbox.shift()!;
  };
  t.teardown(async () => {
    layer.close();
    peer.close();
    await transportLayer.close();
  });
  const me = peer.address().port;

  peer.send(request('INVITE', me, 'z9hG4bKu1'), port, '127.0.0.1');
  t.equal((await nextResponse()).status, 100);
  t.equal(txs.length, 1);
  txs[0]!.respond(makeResponse(txs[0]!.request, 486, { toTag: 'gw1' }));
  const busy = await nextResponse();
  t.equal(busy.status, 486);
  t.match(busy.headers.get('via')!, new RegExp(`received=127\\.0\\.0\\.1;rport=${me}$`));
  peer.send(request('ACK', me, 'z9hG4bKu1'), port, '127.0.0.1');
  while (txs[0]!.state !== 'confirmed') await new Promise((r) => setImmediate(r));
  t.equal(txs[0]!.state, 'confirmed', 'the ACK confirmed the transaction');

  peer.send(request('INVITE', me, 'z9hG4bKu2'), port, '127.0.0.1');
  t.equal((await nextResponse()).status, 100);
  peer.send(request('CANCEL', me, 'z9hG4bKu2'), port, '127.0.0.1');
  const got = [(await nextResponse()).status, (await nextResponse()).status].sort();
  t.same(got, [200, 487]);
});
