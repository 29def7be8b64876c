import t from 'tap';
import Database from 'better-sqlite3';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { TestCa } from '../helpers/certs.js';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { branch, header, request, sdpAudioTarget, sdpOffer, SipTlsClient, token, type WireMessage } from './sip-tls-client.js';

/**
 * SIP over TLS against the embedded engine: a real daemon in this process with TLS on an
 * ephemeral port and a certificate from a throwaway CA, and a Node `tls.connect` client that
 * writes SIP by hand. Covers the TLS versions, OPTIONS, a whole call to the echo agent with RTP
 * echoed back (plain RTP: TLS protects signalling only until SRTP arrives in issue 4), and the
 * SIGHUP certificate reload that must not drop the connections and calls already up.
 */

const ECHO = '+14155550100';

function tlsConfig(certFile: string, keyFile: string): string {
  const sip = loopbackConfig(`tls_cert_file = ${JSON.stringify(certFile)}\ntls_key_file = ${JSON.stringify(keyFile)}`);
  if (!sip.includes('tls_port = -1')) throw new Error('loopbackConfig changed: cannot enable TLS');
  return sip.replace('tls_port = -1', 'tls_port = 0');
}

/** One call placed by hand over a SipTlsClient: INVITE/ACK/re-INVITE/INFO/BYE in one dialog. */
class TlsCall {
  readonly callId = `${token()}@tls-test`;
  readonly fromTag = token();
  toTag = '';
  remoteTarget = '';
  private cseq = 0;

  constructor(
    private readonly client: SipTlsClient,
    private readonly gatewayPort: number,
  ) {}

  private headers(method: string, cseq: number, withToTag: boolean): Array<[string, string]> {
    const local = `127.0.0.1:${this.client.localPort}`;
    return [
      ['Via', `SIP/2.0/TLS ${local};branch=${branch()};rport`],
      ['Max-Forwards', '70'],
      ['From', `"Carrier" <sip:+14155550999@127.0.0.1>;tag=${this.fromTag}`],
      ['To', `<sip:${ECHO}@127.0.0.1>${withToTag && this.toTag ? `;tag=${this.toTag}` : ''}`],
      ['Call-ID', this.callId],
      ['CSeq', `${cseq} ${method}`],
      ['Contact', `<sip:carrier@${local};transport=tls>`],
      ['User-Agent', 'kalem-tls-test'],
    ];
  }

  /** Sends INVITE (initial or re-INVITE) and resolves with the final response; 100 is checked on the initial one. */
  async invite(sdp: string, t: Pick<typeof import('tap').default, 'equal'>): Promise<WireMessage> {
    const cseq = ++this.cseq;
    const initial = this.toTag === '';
    const uri = initial ? `sip:${ECHO}@127.0.0.1:${this.gatewayPort};transport=tls` : this.remoteTarget;
    this.client.send(request(`INVITE ${uri} SIP/2.0`, this.headers('INVITE', cseq, !initial), sdp));
    if (initial) {
      const trying = await this.client.response(cseq, 'INVITE', 100, 100);
      t.equal(trying.status, 100, 'INVITE over TLS gets 100 Trying');
    }
    const final = await this.client.response(cseq, 'INVITE', 200, 699);
    if (initial && final.status === 200) {
      this.toTag = /;\s*tag=([^;>\s]+)/i.exec(header(final, 'to') ?? '')?.[1] ?? '';
      this.remoteTarget = /<([^>]+)>/.exec(header(final, 'contact') ?? '')?.[1] ?? '';
    }
    return final;
  }

  ack(inviteCseq: number): void {
    this.client.send(request(`ACK ${this.remoteTarget} SIP/2.0`, this.headers('ACK', inviteCseq, true)));
  }

  get lastCseq(): number {
    return this.cseq;
  }

  /** An in-dialog non-INVITE request (BYE, INFO); resolves with its final response. */
  async inDialog(method: 'BYE' | 'INFO', body = '', contentType = 'application/sdp'): Promise<WireMessage> {
    const cseq = ++this.cseq;
    const hs = this.headers(method, cseq, true);
    this.client.send(request(`${method} ${this.remoteTarget} SIP/2.0`, hs, body, contentType));
    return this.client.response(cseq, method, 200, 699);
  }
}

/** A local RTP peer: sends PCMU packets and collects what comes back. */
class RtpPeer {
  readonly received: Buffer[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (m) => this.received.push(m));
  }

  static async open(): Promise<RtpPeer> {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    return new RtpPeer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends `count` packets with recognisable payloads and waits until as many have come back. */
  async echoRoundTrip(target: { address: string; port: number }, count: number, timeoutMs = 5000): Promise<Buffer[]> {
    const sent: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const p = Buffer.alloc(12 + 160);
      p[0] = 0x80;
      p[1] = i === 0 ? 0x80 : 0x00; // PT 0 (PCMU), marker on the first
      p.writeUInt16BE(1000 + i, 2);
      p.writeUInt32BE(160 * i, 4);
      p.writeUInt32BE(0x12345678, 8);
      p.fill(i + 1, 12);
      sent.push(p);
      this.socket.send(p, target.port, target.address);
    }
    // Resolves once `count` packets are in (our 'message' listener runs after the constructor's,
    // which has already stored the packet), or at the timeout; the caller asserts the count.
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        resolve();
      };
      const onMessage = (): void => {
        if (this.received.length >= count) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.socket.on('message', onMessage);
      onMessage();
    });
    return sent;
  }

  close(): void {
    this.socket.close();
  }
}

t.test('SIP over TLS: versions, OPTIONS, an echo call, and a certificate reload that keeps calls up', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const first = ca.issueServer('kalem-gw-first', ca.dir, 'sip');
  const gw = new TestGateway(tlsConfig(first.certFile, first.keyFile));
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [ECHO]);
  });
  // Teardowns run in the order they are added: client sockets first, so the gateway's close
  // does not wait on connections we still hold open.
  const clients: SipTlsClient[] = [];
  t.teardown(() => clients.forEach((c) => c.close()));
  await gw.start();
  t.teardown(() => gw.stop());
  const port = gw.port('tls');
  const connect = async (): Promise<SipTlsClient> => {
    const c = await SipTlsClient.connect(port, { ca: ca.caPem });
    clients.push(c);
    return c;
  };

  // ── versions ──
  const a = await connect();
  t.equal(a.socket.getProtocol(), 'TLSv1.3', 'a modern client negotiates TLS 1.3');
  t.equal(a.socket.authorized, true, 'the certificate chains to the test CA and names 127.0.0.1');
  t.equal(a.socket.getPeerCertificate().fingerprint256, first.fingerprint256, 'it is the configured certificate');

  const tls12 = await SipTlsClient.connect(port, { ca: ca.caPem, maxVersion: 'TLSv1.2' });
  t.equal(tls12.socket.getProtocol(), 'TLSv1.2', 'TLS 1.2 is still accepted (the minimum)');
  tls12.close();

  // SECLEVEL=0 so that our own OpenSSL is willing to offer TLS 1.1: the refusal must come from
  // the gateway (a protocol_version alert), not from the client declining to try.
  const old = SipTlsClient.connect(port, { ca: ca.caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  const err = await old.then(
    (c) => {
      c.close();
      return null;
    },
    (e: NodeJS.ErrnoException) => e,
  );
  t.ok(err, 'a TLS 1.1 client is refused');
  t.match(err?.code ?? err?.message ?? '', /ALERT_PROTOCOL_VERSION/, `the gateway answers with a protocol_version alert (${err?.code ?? err?.message})`);

  // ── OPTIONS ──
  const optCseq = 1;
  a.send(
    request(`OPTIONS sip:${ECHO}@127.0.0.1:${port};transport=tls SIP/2.0`, [
      ['Via', `SIP/2.0/TLS 127.0.0.1:${a.localPort};branch=${branch()};rport`],
      ['Max-Forwards', '70'],
      ['From', `<sip:ping@127.0.0.1>;tag=${token()}`],
      ['To', `<sip:${ECHO}@127.0.0.1>`],
      ['Call-ID', `${token()}@tls-test`],
      ['CSeq', `${optCseq} OPTIONS`],
    ]),
  );
  const options = await a.response(optCseq, 'OPTIONS', 200, 699);
  t.equal(options.status, 200, 'OPTIONS over TLS gets 200');
  t.match(header(options, 'allow') ?? '', /\bINVITE\b.*\bBYE\b|\bBYE\b.*\bINVITE\b/, `with an Allow header (${header(options, 'allow')})`);

  // ── a whole call to the echo agent over TLS ──
  const rtp = await RtpPeer.open();
  t.teardown(() => rtp.close());
  const call = new TlsCall(a, port);
  const ok = await call.invite(sdpOffer(rtp.port), t);
  t.equal(ok.status, 200, 'the echo number answers');
  t.equal(header(ok, 'content-type'), 'application/sdp', 'with an SDP answer');
  t.match(call.remoteTarget, /^sips?:.*transport=tls/i, `its Contact keeps us on TLS (${call.remoteTarget})`);
  call.ack(call.lastCseq);
  const media = sdpAudioTarget(ok.body);
  const sent = await rtp.echoRoundTrip(media, 10);
  t.equal(rtp.received.length, 10, `every RTP packet sent to ${media.address}:${media.port} came back`);
  // The call runs through the managed rtpengine (the default media mode), which may forward the
  // first packet of a new stream after the next few: compare in sequence-number order.
  const bySeq = (a: Buffer, b: Buffer): number => a.readUInt16BE(2) - b.readUInt16BE(2);
  t.same(
    [...rtp.received].sort(bySeq).map((p) => p.subarray(12)),
    sent.map((p) => p.subarray(12)),
    'with the same payloads and sequence numbers',
  );
  const bye = await call.inDialog('BYE');
  t.equal(bye.status, 200, 'BYE over TLS gets 200');

  // ── certificate reload (SIGHUP) with a call up on an existing connection ──
  const rtp2 = await RtpPeer.open();
  t.teardown(() => rtp2.close());
  const live = new TlsCall(a, port);
  const liveOk = await live.invite(sdpOffer(rtp2.port), t);
  t.equal(liveOk.status, 200, 'a second call is up before the reload');
  live.ack(live.lastCseq);

  const second = ca.issueServer('kalem-gw-second', ca.dir, 'sip'); // overwrites the configured files
  t.not(second.serialNumber, first.serialNumber, 'the new certificate has another serial');
  t.not(second.fingerprint256, first.fingerprint256, 'and another fingerprint');
  await gw.daemon.reload();

  const b = await connect();
  t.equal(b.socket.getPeerCertificate().fingerprint256, second.fingerprint256, 'a new connection sees the new certificate');
  t.equal(b.socket.getPeerCertificate().subject.CN, 'kalem-gw-second', 'with the new CN');
  t.equal(a.socket.getPeerCertificate().fingerprint256, first.fingerprint256, 'the old connection still holds the old session');

  const reinvite = await live.invite(sdpOffer(rtp2.port, 2), t);
  t.equal(reinvite.status, 200, 'a re-INVITE on the old connection, after the reload, gets 200');
  live.ack(live.lastCseq);
  await rtp2.echoRoundTrip(sdpAudioTarget(reinvite.body), 5);
  t.equal(rtp2.received.length, 5, 'and the call still echoes');
  const info = await live.inDialog('INFO', 'Signal=5\r\nDuration=160\r\n', 'application/dtmf-relay');
  t.equal(info.status, 200, 'INFO on the old connection gets 200');
  const liveBye = await live.inDialog('BYE');
  t.equal(liveBye.status, 200, 'BYE on the old connection gets 200');

  // ── the CDRs agree ──
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  const rows = db.prepare('SELECT answered_at, end_reason, details FROM calls ORDER BY started_at').all() as Array<{ answered_at: string | null; end_reason: string; details: string }>;
  db.close();
  t.equal(rows.length, 2, 'two calls recorded');
  for (const row of rows) {
    t.ok(row.answered_at, 'answered');
    t.equal(row.end_reason, 'remote-bye', 'ended by our BYE');
    const m = (JSON.parse(row.details) as { media: { received: number; sent: number } }).media;
    t.ok(m.received > 0 && m.sent === m.received, `media echoed (${m.received} in, ${m.sent} out)`);
  }
  t.equal(gw.daemon.calls.activeCalls, 0, 'no call left behind');
});
