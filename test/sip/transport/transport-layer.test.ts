import t from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import { TransportLayer, type TransportLayerWarning } from '../../../src/sip/embedded/transport/transport-layer.js';
import { UdpTransport } from '../../../src/sip/embedded/transport/udp-transport.js';
import { TcpTransport } from '../../../src/sip/embedded/transport/tcp-transport.js';
import type { ReceivedSource } from '../../../src/sip/embedded/transport/types.js';
import type { SipRequest } from '../../../src/sip/embedded/message/types.js';
import { parseMessage } from '../../../src/sip/embedded/message/index.js';
import { makeResponse } from '../../../src/sip/embedded/transaction/make-response.js';
import { next } from './helpers.js';

function invite(via: string, extra = ''): Buffer {
  return Buffer.from(
    `INVITE sip:+15550199@gw.example SIP/2.0\r\n` +
      `Via: ${via}\r\n` +
      `Max-Forwards: 70\r\n` +
      `From: <sip:+15550100@carrier.example>;tag=a1\r\n` +
      `To: <sip:+15550199@gw.example>\r\n` +
      `Call-ID: c1@carrier.example\r\n` +
      `CSeq: 1 INVITE\r\n` +
      extra +
      `Content-Length: 0\r\n\r\n`,
  );
}

async function udpPeer(): Promise<{ socket: dgram.Socket; port: number; next: () => Promise<Buffer> }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    socket,
    port: socket.address().port,
    next: () => new Promise((r) => socket.once('message', (m) => r(m))),
  };
}

async function layerWithUdp() {
  const udp = new UdpTransport({ host: '127.0.0.1', port: 0 });
  const tcp = new TcpTransport({ host: '127.0.0.1', port: 0 });
  const layer = new TransportLayer({ transports: [udp, tcp] });
  await layer.start();
  return { layer, udpPort: udp.address()!.port, tcpPort: tcp.address()!.port };
}

t.test('rport: received and rport stamped, the response goes to the source port', async (t) => {
  const { layer, udpPort } = await layerWithUdp();
  const peer = await udpPeer();
  t.teardown(async () => {
    peer.socket.close();
    await layer.close();
  });
  const got = next<[SipRequest, ReceivedSource]>(layer, 'request');
  peer.socket.send(invite('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKr1;rport'), udpPort, '127.0.0.1');
  const [req, source] = await got;
  t.equal(req.headers.get('via'), `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKr1;received=127.0.0.1;rport=${peer.port}`);
  t.equal(source.port, peer.port);
  const reply = peer.next();
  await layer.sendResponse(makeResponse(req, 180, { toTag: 'gw1' }), source);
  const res = parseMessage(await reply);
  t.equal(res.kind === 'response' ? res.status : 0, 180, 'the private sent-by was not used');
});

t.test('no rport, other host: received stamped, the response goes to received + sent-by port', async (t) => {
  const { layer, udpPort } = await layerWithUdp();
  const sender = await udpPeer();
  const sentBy = await udpPeer(); // the port the client says it listens on
  t.teardown(async () => {
    sender.socket.close();
    sentBy.socket.close();
    await layer.close();
  });
  const got = next<[SipRequest, ReceivedSource]>(layer, 'request');
  sender.socket.send(invite(`SIP/2.0/UDP client.invalid:${sentBy.port};branch=z9hG4bKr2`), udpPort, '127.0.0.1');
  const [req, source] = await got;
  t.equal(req.headers.get('via'), `SIP/2.0/UDP client.invalid:${sentBy.port};branch=z9hG4bKr2;received=127.0.0.1`);
  const reply = sentBy.next();
  await layer.sendResponse(makeResponse(req, 486, { toTag: 'gw1' }), source);
  const res = parseMessage(await reply);
  t.equal(res.kind === 'response' ? res.status : 0, 486);
});

t.test('same host, no rport: the Via is left byte for byte', async (t) => {
  const { layer, udpPort } = await layerWithUdp();
  const peer = await udpPeer();
  t.teardown(async () => {
    peer.socket.close();
    await layer.close();
  });
  const got = next<[SipRequest, ReceivedSource]>(layer, 'request');
  const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKr3`;
  peer.socket.send(invite(via), udpPort, '127.0.0.1');
  t.equal((await got)[0].headers.get('via'), via);
});

t.test('malformed requests are answered statelessly here, and never reach the layer above', async (t) => {
  const { layer, udpPort } = await layerWithUdp();
  const peer = await udpPeer();
  t.teardown(async () => {
    peer.socket.close();
    await layer.close();
  });
  const requests: SipRequest[] = [];
  layer.on('request', (r) => requests.push(r));
  const warnings: TransportLayerWarning[] = [];
  layer.on('warning', (w) => warnings.push(w));
  const via = 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbad;rport';
  const cases: Array<[string, Buffer, number]> = [
    ['bad Max-Forwards', Buffer.from(invite(via).toString().replace('Max-Forwards: 70', 'Max-Forwards: lots')), 400],
    ['header line without a colon', Buffer.from(invite(via).toString().replace('Max-Forwards: 70', 'Max-Forwards 70')), 400],
    ['SIP/3.0', Buffer.from(invite(via).toString().replace('SIP/2.0\r\n', 'SIP/3.0\r\n')), 505],
    ['CSeq method mismatch', Buffer.from(invite(via).toString().replace('CSeq: 1 INVITE', 'CSeq: 1 BYE')), 400],
  ];
  for (const [name, bytes, status] of cases) {
    const reply = peer.next();
    peer.socket.send(bytes, udpPort, '127.0.0.1');
    const res = parseMessage(await reply);
    t.equal(res.kind === 'response' ? res.status : 0, status, name);
    t.equal(res.headers.get('call-id'), 'c1@carrier.example', `${name}: Call-ID copied`);
    t.match(res.headers.get('to') ?? '', /;tag=/, `${name}: To tag added`);
  }
  // Garbage gets no answer, and a good INVITE afterwards is still delivered.
  peer.socket.send(Buffer.from('\x00\x01garbage\r\n\r\n'), udpPort, '127.0.0.1');
  const good = next<[SipRequest]>(layer, 'request');
  peer.socket.send(invite(via), udpPort, '127.0.0.1');
  await good;
  t.equal(requests.length, 1);
  t.equal(warnings.filter((w) => w.code === 'parse-error').length, 5);
});

t.test('a throwing listener costs a warning, not the socket', async (t) => {
  const { layer, udpPort } = await layerWithUdp();
  const peer = await udpPeer();
  t.teardown(async () => {
    peer.socket.close();
    await layer.close();
  });
  let calls = 0;
  layer.on('request', () => {
    calls++;
    if (calls === 1) throw new Error('bug above');
  });
  const warned = next<[TransportLayerWarning]>(layer, 'warning');
  peer.socket.send(invite('SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKt1'), udpPort, '127.0.0.1');
  t.equal((await warned)[0].code, 'listener-error');
  const again = next<[SipRequest]>(layer, 'request');
  peer.socket.send(invite('SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKt2'), udpPort, '127.0.0.1');
  await again;
  t.equal(calls, 2);
});

t.test('TCP: the response returns over the request connection, whatever the Via says', async (t) => {
  const { layer, tcpPort } = await layerWithUdp();
  const c = net.connect({ host: '127.0.0.1', port: tcpPort });
  t.teardown(async () => {
    c.destroy();
    await layer.close();
  });
  await next(c, 'connect');
  const got = next<[SipRequest, ReceivedSource]>(layer, 'request');
  c.write(invite('SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKtcp1'));
  const [req, source] = await got;
  t.equal(source.transport, 'tcp');
  t.ok(source.connectionId);
  const reply = next<[Buffer]>(c, 'data');
  await layer.sendResponse(makeResponse(req, 100), source);
  const res = parseMessage((await reply)[0]);
  t.equal(res.kind === 'response' ? res.status : 0, 100);
  // A malformed request on the stream is answered on the stream too.
  const bad = next<[Buffer]>(c, 'data');
  c.write(Buffer.from(invite('SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKtcp2').toString().replace('CSeq: 1 INVITE', 'CSeq: 1 FOO')));
  const badRes = parseMessage((await bad)[0]);
  t.equal(badRes.kind === 'response' ? badRes.status : 0, 400);
});

t.test('requests go out with our sent-by; responses come back as events', async (t) => {
  const { layer, udpPort } = await layerWithUdp();
  const advertised = new TransportLayer({
    transports: [new UdpTransport({ host: '127.0.0.1', port: 0 })],
    advertisedHost: 'gw.example.com',
  });
  await advertised.start();
  t.teardown(async () => {
    await layer.close();
    await advertised.close();
  });
  t.equal(layer.viaSentBy('udp'), `127.0.0.1:${udpPort}`);
  t.match(advertised.viaSentBy('udp'), /^gw\.example\.com:\d+$/);
  t.throws(() => advertised.viaSentBy('tls'), /no listening tls/);
  t.equal(layer.isReliable('udp'), false);
  t.equal(layer.isReliable('tls'), true);
  // One layer sends an OPTIONS to the other and gets its response back as a `response` event.
  const req = parseMessage(
    Buffer.from(
      `OPTIONS sip:gw.example SIP/2.0\r\nVia: SIP/2.0/UDP ${advertised.viaSentBy('udp').replace('gw.example.com', '127.0.0.1')};branch=z9hG4bKo1\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:gw.example>\r\nCall-ID: o1@b\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    ),
  ) as SipRequest;
  const atLayer = next<[SipRequest, ReceivedSource]>(layer, 'request');
  await advertised.sendRequest(req, { host: '127.0.0.1', port: udpPort, transport: 'udp' });
  const [incoming, source] = await atLayer;
  const back = next<[{ status: number }]>(advertised, 'response');
  await layer.sendResponse(makeResponse(incoming, 200, { toTag: 'x' }), source);
  t.equal((await back)[0].status, 200);
  await t.rejects(layer.sendRequest(req, { host: '127.0.0.1', port: 1, transport: 'tls' }), /no tls transport/);
  t.throws(() => new TransportLayer({ transports: [] }), TypeError);
});
