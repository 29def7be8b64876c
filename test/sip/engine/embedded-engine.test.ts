/**
 * The embedded engine as a whole, on real sockets (127.0.0.1, ephemeral ports): torture
 * messages, stalled and idle TCP peers, the gate, and stop(). The peers are plain Node sockets
 * in this file, not SIPp, so each case can misbehave in exactly one way.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FakeClock } from '../../../src/core/clock.js';
import type { IncomingCall } from '../../../src/sip/sip-engine.js';
import {
  OFFER_SDP,
  TcpPeer,
  UdpPeer,
  arrivesWithin,
  requestText,
  startEngine,
  type StartedEngine,
} from './engine-harness.js';

// Nothing may escape the engine into the process. Any of these fails the file.
const escaped: string[] = [];
const onEscape = (err: unknown): void => void escaped.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
process.on('uncaughtException', onEscape);
process.on('unhandledRejection', onEscape);
t.teardown(() => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});
/** Call at the end of every test: what escaped into the process during it fails it. */
function noEscapes(t: Pick<typeof import('tap').default, 'same'>): void {
  t.same(escaped.splice(0), [], 'no uncaught exception or unhandled rejection');
}

/** Rejects if `p` has not settled within `ms` (so a regression fails fast instead of hanging). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
  ]);
}

/** Waits until at most `n` of `peers` are still open (the engine resets the refused ones). */
async function settleTo(peers: TcpPeer[], n: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = peers.filter((p) => !p.isClosed);
    if (open.length <= n) return open.length;
    const left = deadline - Date.now();
    if (left <= 0) return open.length;
    await Promise.race([...open.map((p) => p.closed), new Promise((r) => setTimeout(r, left))]);
  }
}

function nextCall(s: StartedEngine, timeoutMs = 3000): Promise<IncomingCall> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no call event')), timeoutMs);
    s.engine.once('call', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

function uniq(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

// ── (a) RFC 4475 ───────────────────────────────────────────────────────────────────────────────

const RFC4475_DIR = fileURLToPath(new URL('../../../../test/fixtures/rfc4475/', import.meta.url));

/** What test/sip/message/rfc4475.test.ts says the parser rejects (status, or undefined = drop). */
const INVALID = new Set([
  'badinv01', 'clerr', 'ncl', 'scalar02', 'scalarlg', 'quotbal', 'ltgtruri', 'lwsruri', 'lwsstart', 'trws',
  'escruri', 'regbadct', 'badaspec', 'baddn', 'badvers', 'mismatch01', 'mismatch02', 'bigcode', 'insuf',
  'multi01', 'mcl01',
]);
/** Responses, not requests: they match no transaction and get nothing back. */
const RESPONSES = new Set(['bcast', 'bigcode', 'noreason', 'unreason', 'scalarlg']);
/** What the UAS core must answer to the semantically odd requests (the `uas` notes of rfc4475.test.ts). */
const SEMANTIC_STATUS: Record<string, number> = {
  bext01: 420, // Require with unknown extensions
  invut: 415, // body of an unknown type
  unkscm: 416, // unknown Request-URI scheme
  novelsc: 416, // soap.beep Request-URI
  regaut01: 405, // REGISTER (we are no registrar), never accepted
};
/** Status codes an invalid message may get; 501 is RFC 4475's own answer for mismatch02 (§3.1.2.18). */
const ERROR_STATUSES = new Set([400, 501, 505, 513]);

/**
 * The first Via's sent-by, pointed at the peer that sends the message, so that responses routed
 * per Via (§18.2.2) come back to it. Everything else in the message stays as the RFC wrote it.
 */
function aimVia(raw: Buffer, port: number): Buffer {
  const s = raw.toString('latin1');
  const re = /^((?:via|v)[ \t]*:\s*SIP\s*\/\s*\d\.\d\s*\/\s*[A-Za-z]+\s+)([^;,\s]+)/im;
  return Buffer.from(s.replace(re, `$1127.0.0.1:${port}`), 'latin1');
}

t.test('RFC 4475 torture messages over UDP: nothing escapes, errors get 400/505/513 or nothing, a valid INVITE still works', async (t) => {
  const s = await startEngine();
  t.teardown(() => s.engine.stop());
  const callIds: string[] = [];
  s.engine.on('call', (c) => {
    callIds.push(c.info.callId);
    c.reject(404);
  });
  const names = readdirSync(RFC4475_DIR)
    .filter((f) => f.endsWith('.dat'))
    .map((f) => f.slice(0, -4))
    .sort();
  t.equal(names.length, 49, 'all 49 messages');
  for (const name of names) {
    // One peer (one sent-by) per message: several fixtures share a branch, and the same branch
    // from the same sent-by would rightly be one transaction (§17.2.3).
    const peer = await UdpPeer.open(s.udpPort);
    const callsBefore = callIds.length;
    peer.send(aimVia(readFileSync(`${RFC4475_DIR}${name}.dat`), peer.port));
    // A final response, or a quiet window for the ones that get none.
    const final = await arrivesWithin((ms) => peer.response((r) => r.status >= 200, ms), 300);
    const statuses = peer.received.map((m) => (m.kind === 'response' ? m.status : m.method));
    if (RESPONSES.has(name)) {
      t.same(statuses, [], `${name}: a response matching nothing gets nothing`);
    } else if (INVALID.has(name)) {
      t.ok(
        statuses.every((x) => typeof x === 'number' && ERROR_STATUSES.has(x)),
        `${name}: only 400/501/505/513 or nothing (got ${JSON.stringify(statuses)})`,
      );
      t.equal(callIds.length, callsBefore, `${name}: no call offered`);
    } else if (SEMANTIC_STATUS[name] !== undefined) {
      t.ok(final, `${name}: answered`);
      t.same(statuses.filter((x) => x !== 100), [SEMANTIC_STATUS[name]], `${name}: ${SEMANTIC_STATUS[name]}`);
    } else {
      t.ok(final, `${name}: a valid request gets a final response (got ${JSON.stringify(statuses)})`);
    }
    await peer.close();
  }
  t.ok(callIds.includes('inv2543.1717@ift.client.example.com'), 'an RFC 2543 INVITE (no branch) became a call');
  t.ok(callIds.some((c) => c.startsWith('longreq.')), 'the long INVITE became a call');

  // Afterwards a plain valid INVITE is still handled in full.
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const callId = uniq('after-torture');
  const call = nextCall(s);
  peer.send(requestText({ method: 'INVITE', callId, via: { transport: 'UDP', host: '127.0.0.1', port: peer.port }, body: OFFER_SDP }));
  await peer.response((r) => r.status === 100 && r.headers.get('call-id') === callId, 3000, '100 Trying');
  t.equal((await call).info.callId, callId, 'the call event fired');
  t.ok((await peer.response((r) => r.status === 404 && r.headers.get('call-id') === callId)).status, 'and its 404 came back');
  t.same(peer.unparsed, [], 'every response the engine sent for it parses');
  noEscapes(t);
});

// ── (b) a stalled TCP peer ──────────────────────────────────────────────────────────────────────

t.test('TCP: a peer that sends half a message and stalls is cut off after the idle timeout; others are served meanwhile', async (t) => {
  const idle = 300;
  const s = await startEngine({ connectionIdleTimeoutMs: idle });
  t.teardown(() => s.engine.stop());
  const staller = await TcpPeer.connect(s.tcpPort);
  const dribbler = await TcpPeer.connect(s.tcpPort);
  t.teardown(() => staller.close());
  t.teardown(() => dribbler.close());
  const half = requestText({ method: 'OPTIONS', callId: uniq('half'), via: { transport: 'TCP', host: '127.0.0.1', port: staller.port } });
  const started = Date.now();
  staller.send(half.slice(0, 60));
  // The dribbler keeps sending bytes of a message that never completes.
  const bytes = Buffer.from(requestText({ method: 'OPTIONS', callId: uniq('drib'), via: { transport: 'TCP', host: '127.0.0.1', port: dribbler.port } }));
  let i = 0;
  const drip = setInterval(() => {
    if (!dribbler.isClosed && i < bytes.length - 1) dribbler.send(bytes.subarray(i, ++i));
  }, 50);
  t.teardown(() => clearInterval(drip));

  // Meanwhile another client is answered at once.
  const good = await TcpPeer.connect(s.tcpPort);
  t.teardown(() => good.close());
  const callId = uniq('good');
  good.send(requestText({ method: 'OPTIONS', callId, via: { transport: 'TCP', host: '127.0.0.1', port: good.port } }));
  const ok = await good.response((r) => r.headers.get('call-id') === callId, 2000, 'OPTIONS 200');
  t.equal(ok.status, 200, 'OPTIONS answered while a peer stalls');
  t.notOk(staller.isClosed, 'the staller is not yet cut off when the other client is answered');

  await within(staller.closed, idle + 2000, 'the staller is closed');
  const stalledFor = Date.now() - started;
  t.ok(stalledFor >= idle - 50 && stalledFor < idle + 2000, `the staller is closed after ~${idle} ms (${stalledFor} ms)`);
  await within(dribbler.closed, idle + 2000, 'the dribbler is closed');
  t.ok(Date.now() - started < idle + 2000, 'dribbling a byte at a time does not keep a connection alive');
  t.same(staller.received, [], 'the half message got no answer');
  t.ok(s.warnings.some((w) => w.startsWith('idle-timeout')), 'an idle-timeout warning was emitted');
  noEscapes(t);
});

// ── (c) hundreds of idle TCP connections ─────────────────────────────────────────────────────────

t.test('hundreds of idle TCP connections do not stop UDP or TCP callers; the excess is refused', async (t) => {
  // The accept rate limit is lifted: this test is about the connection caps (stream-caps.test.ts tests the rate).
  const s = await startEngine({ maxConnections: 200, maxConnectionsPerIp: 150, connectionIdleTimeoutMs: 20_000, acceptLimits: { maxAcceptsPerIp: 10_000 } });
  t.teardown(() => s.engine.stop());
  const flood: TcpPeer[] = [];
  t.teardown(() => Promise.all(flood.map((p) => p.close())));
  const attempts = await Promise.allSettled(Array.from({ length: 300 }, () => TcpPeer.connect(s.tcpPort, '127.0.0.1')));
  for (const a of attempts) if (a.status === 'fulfilled') flood.push(a.value);
  // Refused connections are reset by the engine right after the handshake (some already during
  // connect, those never made it into `flood`).
  await settleTo(flood, 150);
  const open = flood.filter((p) => !p.isClosed).length;
  t.equal(open, 150, `150 idle connections from one address stay, the rest are refused (${open} open)`);
  t.ok(s.warnings.some((w) => w.startsWith('connection-refused-cap')), 'refusals are reported');

  const udp = await UdpPeer.open(s.udpPort);
  t.teardown(() => udp.close());
  const udpId = uniq('udp-options');
  udp.send(requestText({ method: 'OPTIONS', callId: udpId, via: { transport: 'UDP', host: '127.0.0.1', port: udp.port } }));
  t.equal((await udp.response((r) => r.headers.get('call-id') === udpId, 2000, 'UDP OPTIONS')).status, 200, 'UDP OPTIONS answered');

  // Another source address still gets a TCP slot: the per-address cap keeps room for it.
  const tcp = await TcpPeer.connect(s.tcpPort, '127.0.0.2');
  t.teardown(() => tcp.close());
  const tcpId = uniq('tcp-options');
  tcp.send(requestText({ method: 'OPTIONS', callId: tcpId, via: { transport: 'TCP', host: '127.0.0.2', port: tcp.port } }));
  t.equal((await tcp.response((r) => r.headers.get('call-id') === tcpId, 2000, 'TCP OPTIONS')).status, 200, 'TCP OPTIONS answered');

  // Filling the global cap from more addresses: the 201st connection is refused too.
  const more: TcpPeer[] = [];
  t.teardown(() => Promise.all(more.map((p) => p.close())));
  const tries = await Promise.allSettled(Array.from({ length: 60 }, () => TcpPeer.connect(s.tcpPort, '127.0.0.3')));
  for (const a of tries) if (a.status === 'fulfilled') more.push(a.value);
  await settleTo(more, 49);
  t.equal(more.filter((p) => !p.isClosed).length, 49, 'only 49 more fit under the global cap of 200 (150 + 1 + 49)');
  noEscapes(t);
});

// ── (d) the gate ─────────────────────────────────────────────────────────────────────────────────

t.test("the gate: a request it drops gets no response at all, not even 100 Trying", async (t) => {
  const seen: string[] = [];
  const s = await startEngine({
    gate: (req) => {
      seen.push(req.method ?? '?');
      return (req.headers.get('user-agent') ?? '').includes('friendly-scanner') ? 'drop' : 'pass';
    },
  });
  t.teardown(() => s.engine.stop());
  let calls = 0;
  s.engine.on('call', (c) => {
    calls++;
    c.reject(404);
  });
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const dropped = uniq('scanner');
  peer.send(
    requestText({ method: 'INVITE', callId: dropped, via: { transport: 'UDP', host: '127.0.0.1', port: peer.port }, body: OFFER_SDP, extra: ['User-Agent: friendly-scanner'] }),
  );
  peer.send(requestText({ method: 'OPTIONS', callId: dropped, via: { transport: 'UDP', host: '127.0.0.1', port: peer.port }, extra: ['User-Agent: friendly-scanner'] }));
  const answered = await arrivesWithin((ms) => peer.response((r) => r.headers.get('call-id') === dropped, ms), 500);
  t.notOk(answered, 'nothing at all came back for the dropped requests');
  t.same(seen, ['INVITE', 'OPTIONS'], 'the gate saw both');
  t.equal(calls, 0, 'no call event');

  // The same socket path works for a request the gate passes.
  const passed = uniq('carrier');
  peer.send(requestText({ method: 'INVITE', callId: passed, via: { transport: 'UDP', host: '127.0.0.1', port: peer.port }, body: OFFER_SDP }));
  await peer.response((r) => r.status === 100 && r.headers.get('call-id') === passed, 2000, '100 Trying');
  await peer.response((r) => r.status === 404 && r.headers.get('call-id') === passed, 2000, '404');
  t.equal(calls, 1);
  noEscapes(t);
});

// ── (e) stop() ───────────────────────────────────────────────────────────────────────────────────

t.test('stop() ends an answered call with BYE and a ringing one with 503', async (t) => {
  const s = await startEngine({ retryAfterS: 17 });
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const via = { transport: 'UDP' as const, host: '127.0.0.1', port: peer.port };

  const upId = uniq('up');
  const up = nextCall(s);
  peer.send(requestText({ method: 'INVITE', callId: upId, via, body: OFFER_SDP }));
  const upCall = await up;
  await upCall.answer(OFFER_SDP);
  const ok = await peer.response((r) => r.status === 200 && r.headers.get('call-id') === upId, 2000, '200 OK');
  const confirmed = new Promise<void>((resolve) => upCall.once('confirmed', resolve));
  const toTag = /;tag=([^;>\s]+)/.exec(ok.headers.get('to') ?? '')?.[1];
  peer.send(requestText({ method: 'ACK', callId: upId, via, toTag }));
  await confirmed;

  const ringId = uniq('ringing');
  const ring = nextCall(s);
  peer.send(requestText({ method: 'INVITE', callId: ringId, via, body: OFFER_SDP }));
  const ringCall = await ring;
  ringCall.progress(180);
  await peer.response((r) => r.status === 180 && r.headers.get('call-id') === ringId, 2000, '180');

  const ends: string[] = [];
  upCall.on('ended', (r) => ends.push(`up:${r}`));
  ringCall.on('ended', (r) => ends.push(`ring:${r}`));
  await s.engine.stop();

  const bye = await peer.request((r) => r.method === 'BYE' && r.headers.get('call-id') === upId, 100, 'BYE');
  t.match(bye.headers.get('to'), /;tag=ftag/, 'the BYE is in the caller\'s dialog');
  t.match(bye.headers.get('from'), new RegExp(`;tag=${toTag}`));
  t.equal(bye.uri, `sip:caller@127.0.0.1:${peer.port}`, 'to the caller\'s Contact');
  const busy = await peer.response((r) => r.status >= 200 && r.headers.get('call-id') === ringId, 100, 'final response to the ringing call');
  t.equal(busy.status, 503);
  t.equal(busy.headers.get('retry-after'), '17');
  t.same(ends.sort(), ['ring:rejected', 'up:local-bye']);
  t.equal(s.engine.activeCalls(), 0);
  await s.engine.stop(); // idempotent
  noEscapes(t);
});

// ── configuration reaching every layer ──────────────────────────────────────────────────────────

t.test('t1Ms reaches the transaction layer: a 486 is retransmitted after T1, not after 500 ms', async (t) => {
  const clock = new FakeClock();
  const s = await startEngine({ clock, t1Ms: 100 });
  t.teardown(() => s.engine.stop());
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const callId = uniq('t1');
  const call = nextCall(s);
  peer.send(requestText({ method: 'INVITE', callId, via: { transport: 'UDP', host: '127.0.0.1', port: peer.port }, body: OFFER_SDP }));
  (await call).reject(486);
  await peer.response((r) => r.status === 486 && r.headers.get('call-id') === callId, 2000, '486');
  clock.advance(100);
  const again = await arrivesWithin(
    (ms) => peer.response((r) => r.status === 486 && r.headers.get('call-id') === callId && peer.responsesFor(callId).filter((x) => x.status === 486).length >= 2, ms),
    1000,
  );
  t.ok(again, 'Timer G fired at T1 = 100 ms');
  noEscapes(t);
});

// A reflection attack: a client naming another host in received= must not steer our responses.
t.test(
  "a client-supplied Via received= is never trusted: the response goes back to the sender, not to the address it names (RFC 3581 §4)",
  async (t) => {
    const s = await startEngine();
    t.teardown(() => s.engine.stop());
    const sender = await UdpPeer.open(s.udpPort, '127.0.0.1');
    t.teardown(() => sender.close());
    // The "victim" listens on another loopback address, same port number.
    const victim = await UdpPeer.open(s.udpPort, '127.0.0.2', sender.port);
    t.teardown(() => victim.close());
    const callId = uniq('reflect');
    const text = requestText({ method: 'OPTIONS', callId, via: { transport: 'UDP', host: '127.0.0.1', port: sender.port } }).replace(
      ';rport',
      ';received=127.0.0.2',
    );
    sender.send(text);
    const back = await arrivesWithin((ms) => sender.response((r) => r.headers.get('call-id') === callId, ms), 1000);
    t.ok(back, 'the sender gets its 200');
    t.same(victim.received, [], 'nothing is reflected to the address named in received=');
    noEscapes(t);
  },
);
