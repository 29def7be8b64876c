import t, { type Test } from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { DrachtioServer, drachtioSkipReason } from '../helpers/drachtio.js';
import type { TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import { mutateOnce, prng } from '../fuzz/sip-mutator.js';
import { ECHO, ok, provisionedGateway, UNKNOWN } from '../sipp/scenario-suite.js';

/**
 * Hostile packets through a REAL drachtio-server (DRACHTIO_BIN) to the drachtio engine. Each is
 * followed by a valid SIPp call that must be answered, and drachtio-server must still be running:
 *  - an INVITE whose Contact has no parsable host (drachtio-server's NAT detection dereferenced a
 *    null host when the gateway answered it: avoided by --disable-nat-detection);
 *  - an INVITE with 5 KB of Latin-1 bytes in its Call-ID (drachtio-srf decodes them as U+FFFD,
 *    the answer that copied them overran drachtio-server's 12 KB read buffer and wedged the link:
 *    the engine now answers a bare 400 that copies nothing, and counts it);
 *  - 200 malformed requests sent raw over UDP (seeded mutations of an INVITE).
 */
const notRun = drachtioSkipReason();

/** A raw UDP caller on 127.0.0.1: sends bytes, collects what comes back, ACKs final answers to INVITEs. */
class RawCaller {
  private constructor(readonly socket: Socket, readonly port: number) {}
  readonly received: string[] = [];

  static async open(): Promise<RawCaller> {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const caller = new RawCaller(socket, socket.address().port);
    socket.on('message', (m) => caller.received.push(m.toString('latin1')));
    return caller;
  }

  send(bytes: Buffer, port: number): void {
    try {
      this.socket.send(bytes, port, '127.0.0.1');
    } catch {
      // larger than a UDP datagram can be: it never leaves, which is fine for a fuzz packet
    }
  }

  /** Resolves with the first final response (≥ 200) whose text contains `marker`. */
  finalResponse(marker: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off('message', on);
        reject(new Error(`no final response for ${marker.slice(0, 40)} within ${timeoutMs} ms; got ${this.received.length} messages`));
      }, timeoutMs);
      const on = (m: Buffer): void => {
        const text = m.toString('latin1');
        if (!text.includes(marker) || !/^SIP\/2\.0 [2-6]\d\d /.test(text)) return;
        clearTimeout(timer);
        this.socket.off('message', on);
        resolve(text);
      };
      this.socket.on('message', on);
    });
  }

  close(): void {
    this.socket.close();
  }
}

function invite(o: { port: number; localPort: number; number: string; callId: Buffer | string; contact?: string; branch: string }): Buffer {
  const head = (s: string): Buffer => Buffer.from(s, 'latin1');
  return Buffer.concat([
    head(
      `INVITE sip:${o.number}@127.0.0.1:${o.port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${o.localPort};branch=${o.branch};rport\r\n` +
        `From: "Carrier" <sip:+14155550999@127.0.0.1:${o.localPort}>;tag=hostile-1\r\n` +
        `To: <sip:${o.number}@127.0.0.1:${o.port}>\r\n` +
        'Call-ID: ',
    ),
    typeof o.callId === 'string' ? head(o.callId) : o.callId,
    head(
      '\r\nCSeq: 1 INVITE\r\n' +
        `Contact: ${o.contact ?? `<sip:carrier@127.0.0.1:${o.localPort}>`}\r\n` +
        'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
    ),
  ]);
}

/** The ACK for a non-2xx final answer (RFC 3261 §17.1.1.3: same branch, the answer's To). */
function ackFor(answer: string, o: { port: number; localPort: number; number: string; callId: Buffer | string; branch: string }): Buffer {
  const to = /^To: (.*)$/im.exec(answer)?.[1] ?? `<sip:${o.number}@127.0.0.1>`;
  return Buffer.concat([
    Buffer.from(
      `ACK sip:${o.number}@127.0.0.1:${o.port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${o.localPort};branch=${o.branch};rport\r\n` +
        `From: "Carrier" <sip:+14155550999@127.0.0.1:${o.localPort}>;tag=hostile-1\r\n` +
        `To: ${to}\r\nCall-ID: `,
      'latin1',
    ),
    typeof o.callId === 'string' ? Buffer.from(o.callId, 'latin1') : o.callId,
    Buffer.from('\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n', 'latin1'),
  ]);
}

if (notRun) {
  t.plan(0, notRun);
} else {
  let server: DrachtioServer;
  let gw: TestGateway;
  let caller: RawCaller;
  t.before(async () => {
    server = await DrachtioServer.start();
    gw = await provisionedGateway({ name: 'drachtio', server });
    caller = await RawCaller.open();
  });
  t.teardown(async () => {
    caller?.close();
    await gw?.stop();
    await server?.stop();
  });

  const validCall = async (t: Test, what: string): Promise<void> => {
    const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: ECHO, pauseMs: 300 });
    ok(t, run, `a valid call after ${what} is answered`);
    t.ok(server.running, `drachtio-server is still running after ${what} (exit: ${JSON.stringify(server.exit)})`);
  };

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${gw.daemon.apiAddress()!.port}/metrics`)).text();
    const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };

  t.test('an INVITE whose Contact has no host is answered and drachtio-server survives it', async (t) => {
    const o = { port: gw.port('udp'), localPort: caller.port, number: UNKNOWN, callId: `no-host-contact-${Date.now()}`, branch: 'z9hG4bK-nohost-1', contact: '1212 <<<<<<<<<sip:x@127.0.0.1>' };
    const answer = caller.finalResponse(o.callId);
    caller.send(invite(o), o.port);
    const text = await answer;
    t.match(text, /^SIP\/2\.0 404 /, 'the gateway answered it (404: nobody owns the number)');
    caller.send(ackFor(text, o), o.port);
    await validCall(t, 'a Contact without a host');
  });

  t.test('an INVITE with a 5 KB Latin-1 Call-ID gets a bare 400, is counted, and does not wedge the link', async (t) => {
    const before = await metric('kalem_sip_uncarriable_requests_total{problem="not-utf8"}');
    const callId = Buffer.concat([Buffer.from('latin1-', 'latin1'), Buffer.alloc(5000, 0xe9), Buffer.from('@127.0.0.1', 'latin1')]);
    const o = { port: gw.port('udp'), localPort: caller.port, number: ECHO, callId, branch: 'z9hG4bK-latin1-1' };
    const answer = caller.finalResponse('latin1-');
    caller.send(invite(o), o.port);
    const text = await answer;
    t.match(text, /^SIP\/2\.0 400 Header Not UTF-8\r\n/, 'a 400 that says why');
    t.ok(text.includes(callId.toString('latin1')), "drachtio-server answered with the caller's own Call-ID bytes (nothing was copied back through the gateway)");
    t.notMatch(text, /Allow:|Contact:/, 'a bare answer');
    caller.send(ackFor(text, o), o.port);
    t.equal(await metric('kalem_sip_uncarriable_requests_total{problem="not-utf8"}'), before + 1, 'counted in kalem_sip_uncarriable_requests_total');
    t.equal(gw.daemon.calls.activeCalls, 0, 'it never became a call');
    t.ok(gw.records('refused a request whose headers are not UTF-8: drachtio-srf would mangle them and drachtio-server could not carry them back').length >= 1, 'and logged');
    await validCall(t, 'a 5 KB Latin-1 Call-ID');
  });

  t.test('an INVITE whose copied headers are too large to echo gets a bare 513', async (t) => {
    const callId = `too-large-${'x'.repeat(6000)}`;
    const o = { port: gw.port('udp'), localPort: caller.port, number: ECHO, callId, branch: 'z9hG4bK-large-1' };
    const answer = caller.finalResponse('too-large-');
    caller.send(invite(o), o.port);
    const text = await answer;
    t.match(text, /^SIP\/2\.0 513 Message Too Large\r\n/);
    caller.send(ackFor(text, o), o.port);
    await validCall(t, 'a 6 KB Call-ID');
  });

  t.test('200 malformed requests over UDP: then a valid call is answered', async (t) => {
    const rnd = prng(15);
    const seed = invite({ port: gw.port('udp'), localPort: caller.port, number: UNKNOWN, callId: 'fuzz-seed@127.0.0.1', branch: 'z9hG4bK-fuzz' });
    const corpus = [seed, Buffer.from(`OPTIONS sip:127.0.0.1:${gw.port('udp')} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bK-o\r\nCall-ID: o\r\nCSeq: 1 OPTIONS\r\n\r\n`)];
    for (let i = 0; i < 200; i++) {
      let packet: Buffer = Buffer.from(seed.toString('latin1').replace('fuzz-seed', `fuzz-${i}`).replace('z9hG4bK-fuzz', `z9hG4bK-fuzz-${i}`), 'latin1');
      const rounds = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < rounds; k++) packet = mutateOnce(packet, rnd, corpus)[0];
      caller.send(packet, gw.port('udp'));
      // A little spacing so the kernel's socket buffers, not the servers, decide nothing is lost.
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    await validCall(t, '200 malformed requests');
  });
}
