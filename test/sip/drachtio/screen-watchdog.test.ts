/**
 * The drachtio engine's guards as pure units (request-screen, request-checks, link-watchdog on a
 * fake clock), and the in-dialog refusal against the drachtio-server STAND-IN (the real-server
 * cases are in test/drachtio-real/).
 */
import t from 'tap';
import { FakeClock } from '../../../src/core/clock.js';
import { LinkWatchdog } from '../../../src/sip/drachtio/link-watchdog.js';
import { RawHeaders } from '../../../src/sip/drachtio/raw-headers.js';
import { admissionRefusal } from '../../../src/sip/drachtio/request-checks.js';
import { carriageProblem, MAX_COPIED_HEADER_BYTES } from '../../../src/sip/drachtio/request-screen.js';
import { ANSWER_SDP, nextCall, startHarness } from './harness.js';

const request = (headers: string[], body = ''): string =>
  ['INVITE sip:+1@gw SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', ...headers, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');

t.test('carriageProblem: U+FFFD in a header, or copied headers over the budget', async (t) => {
  const ok = request(['From: <sip:a@x>;tag=1', 'To: <sip:b@y>', 'Call-ID: abc', 'CSeq: 1 INVITE']);
  t.equal(carriageProblem(ok), null);
  t.equal(carriageProblem(request(['From: <sip:a@x>;tag=1', 'To: <sip:b@y>', 'Call-ID: caf\uFFFD', 'CSeq: 1 INVITE'])), 'not-utf8');
  t.equal(carriageProblem(request(['From: <sip:a@x>;tag=1', 'To: <sip:b@y>', 'Call-ID: a', 'User-Agent: \uFFFD'])), 'not-utf8', 'any header, not only the copied ones');
  t.equal(carriageProblem(request(['From: <sip:a@x>;tag=1', 'To: <sip:b@y>', 'Call-ID: a'], 'v=0\r\ns=\uFFFD\r\n')), null, 'the body is not echoed: not checked here');
  t.equal(carriageProblem(request(['From: <sip:a@x>;tag=1', 'To: <sip:b@y>', `Call-ID: ${'x'.repeat(MAX_COPIED_HEADER_BYTES)}`])), 'too-large');
  t.equal(carriageProblem(request(['From: <sip:a@x>;tag=1', `To: "${'e'.repeat(1100)}" <sip:b@y>`, 'Call-ID: a'])), null, '1,100 ASCII letters fit');
  t.equal(carriageProblem(request(['From: <sip:a@x>;tag=1', `To: "${'é'.repeat(1100)}" <sip:b@y>`, 'Call-ID: a'])), 'too-large', 'counted in UTF-8 bytes (é is two)');
  t.equal(carriageProblem(request(['f: <sip:a@x>;tag=1', 't: <sip:b@y>', `i: ${'x'.repeat(MAX_COPIED_HEADER_BYTES)}`])), 'too-large', 'compact forms count too');
});

t.test('admissionRefusal: Max-Forwards 0 → 483 (not OPTIONS), Require → 420 with a bounded Unsupported', async (t) => {
  const h = (lines: string[]): RawHeaders => RawHeaders.parse(request(lines));
  t.same(admissionRefusal('INVITE', h(['Max-Forwards: 0'])), { status: 483, headers: {} });
  t.equal(admissionRefusal('OPTIONS', h(['Max-Forwards: 0'])), null);
  t.equal(admissionRefusal('INVITE', h(['Max-Forwards: 70'])), null);
  t.same(admissionRefusal('INVITE', h(['Require: 100rel, timer'])), { status: 420, headers: { Unsupported: '100rel, timer' } });
  const long = admissionRefusal('INVITE', h([`Require: ${Array.from({ length: 200 }, (_, i) => `ext${i}`).join(', ')}`]));
  t.equal(long?.status, 420);
  t.ok((long?.headers.Unsupported?.length ?? 0) <= 256, 'the echoed list stays small');
  t.equal(admissionRefusal('INVITE', h([])), null);
});

t.test('LinkWatchdog: a probe unanswered by the next tick is a dead link; answered ones are fine', async (t) => {
  const clock = new FakeClock();
  const dead: string[] = [];
  let connected = true;
  let pending: object | undefined;
  const answers: Array<() => void> = [];
  const w = new LinkWatchdog({
    clock,
    intervalMs: 1000,
    connected: () => connected,
    pendingConnection: () => pending,
    probe: (answered) => answers.push(answered),
    onDead: (why) => dead.push(why),
  });
  w.start();
  clock.advance(1000);
  t.equal(answers.length, 1, 'a probe each tick');
  answers[0]!();
  clock.advance(1000);
  t.same(dead, [], 'answered in time: alive');
  clock.advance(1000);
  t.equal(dead.length, 1, 'unanswered by the next tick: dead');
  t.match(dead[0], /no answer to the link probe within 1000 ms/);
  answers[1]!(); // a late answer changes nothing
  connected = false;
  pending = {};
  clock.advance(1000);
  t.equal(dead.length, 1, 'a connection still authenticating gets one tick');
  clock.advance(1000);
  t.equal(dead.length, 2, 'the same unauthenticated connection a tick later is dropped');
  t.match(dead[1], /not authenticated within 1000 ms/);
  w.stop();
  clock.advance(5000);
  t.equal(dead.length, 2, 'stopped: no more ticks');
});

t.test('an in-dialog request drachtio-server could not answer gets a bare 400 and the call goes on (stand-in drachtio-server)', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const counted: string[] = [];
  h.engine.on('uncarriable', (p) => counted.push(p));
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  const infos: string[] = [];
  call.on('info', (_type, body) => infos.push(body));
  const bad = await h.standIn.sendInDialog(callId, 'INFO', [['X-Note', 'caf\uFFFD'], ['Content-Type', 'application/dtmf-relay']], 'Signal=1\r\n');
  t.equal(bad.status, 400);
  t.equal(bad.reason, 'Header Not UTF-8');
  t.same(counted, ['not-utf8'], 'counted');
  t.same(infos, [], 'not delivered to the call');
  const good = await h.standIn.sendInfo(callId, 'application/dtmf-relay', 'Signal=2\r\n');
  t.equal(good.status, 200, 'the call goes on');
  t.same(infos, ['Signal=2\r\n']);
  await call.hangup();
});

t.test('an ACK and a BYE delivered with the 200 OK confirmation come after answer() resolves (fake drachtio-srf)', async (t) => {
  // drachtio-srf handles every message of one TCP chunk synchronously: under load the 200 OK's
  // confirmation, the ACK and the BYE can arrive together, before answer()'s caller has resumed.
  const { EventEmitter } = await import('node:events');
  const { DrachtioCall } = await import('../../../src/sip/drachtio/drachtio-call.js');
  const { systemClock } = await import('../../../src/core/clock.js');
  const { captureLogger } = await import('./harness.js');
  const raw = 'INVITE sip:+1@gw SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:+1@gw>\r\nCall-ID: race-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
  const req = Object.assign(new EventEmitter(), { raw, uri: 'sip:+1@gw', method: 'INVITE', source_address: '192.0.2.1', source_port: 5060, protocol: 'udp', body: '', payload: [], get: () => undefined, has: () => false });
  const dialog = Object.assign(new EventEmitter(), { local: { sdp: '' } });
  const srf = {
    createUAS: (_q: unknown, _s: unknown, _o: unknown, cb: (err: null, d: unknown) => void) => {
      setImmediate(() => {
        cb(null, dialog);
        dialog.emit('ack');
        dialog.emit('destroy', { source: 'network' });
      });
    },
  };
  const call = new DrachtioCall(req as never, {} as never, {
    srf: srf as never,
    clock: systemClock,
    listeners: [],
    logger: captureLogger([]),
    byeTimeoutMs: 1000,
    answerTimeoutMs: 1000,
    referTimeoutMs: 1000,
    onEnded: () => undefined,
  });
  const order: string[] = [];
  call.on('confirmed', () => order.push('confirmed'));
  call.on('ended', (reason) => order.push(`ended:${reason}`));
  await call.answer(ANSWER_SDP);
  order.push('answer resolved');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.same(order, ['answer resolved', 'confirmed', 'ended:remote-bye'], 'the caller of answer() sees the answer before the ACK and the end');
});

t.test('a CANCEL that crosses the 200 OK ends the call as cancelled, without an error (fake drachtio-srf)', async (t) => {
  const { EventEmitter } = await import('node:events');
  const { DrachtioCall } = await import('../../../src/sip/drachtio/drachtio-call.js');
  const { systemClock } = await import('../../../src/core/clock.js');
  const { captureLogger } = await import('./harness.js');
  const raw = 'INVITE sip:+1@gw SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:+1@gw>\r\nCall-ID: race-2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
  const req = Object.assign(new EventEmitter(), { raw, uri: 'sip:+1@gw', method: 'INVITE', source_address: '192.0.2.1', source_port: 5060, protocol: 'udp', body: '', payload: [], get: () => undefined, has: () => false });
  const srf = {
    // As drachtio-srf does: the CANCEL arrives while the 200 OK is on its way; createUAS then fails with 487.
    createUAS: (_q: unknown, _s: unknown, _o: unknown, cb: (err: Error & { status?: number }) => void) => {
      setImmediate(() => {
        req.emit('cancel');
        cb(Object.assign(new Error('Request Terminated'), { status: 487 }));
      });
    },
  };
  const lines: string[] = [];
  const call = new DrachtioCall(req as never, {} as never, {
    srf: srf as never,
    clock: systemClock,
    listeners: [],
    logger: captureLogger(lines),
    byeTimeoutMs: 1000,
    answerTimeoutMs: 1000,
    referTimeoutMs: 1000,
    onEnded: () => undefined,
  });
  const ended = new Promise<string>((resolve) => call.once('ended', resolve));
  let cancelled = false;
  call.once('cancel', () => (cancelled = true));
  await call.answer(ANSWER_SDP);
  t.pass('answer() resolves: the caller is not handed an error');
  t.equal(await ended, 'cancelled');
  t.ok(cancelled, 'and the port saw the cancel');
  t.notOk(lines.some((l) => /"level":(40|50)/.test(l)), 'nothing logged at warn or error');
});
