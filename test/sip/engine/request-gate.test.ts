import t from 'tap';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/logger.js';
import { validateConfig } from '../../../src/config/load.js';
import { buildRequestGate } from '../../../src/app/sip-policy.js';
import type { IncomingCall } from '../../../src/sip/sip-engine.js';
import { OFFER_SDP, UdpPeer, arrivesWithin, requestText, startEngine, type StartedEngine } from './engine-harness.js';

/**
 * The request gate (app/sip-policy.ts, the real policy) on the embedded engine: what it drops gets
 * no answer at all, malformed requests included (issue 10 item 10), and requests within a dialog
 * are never rate-limited (item 7).
 */
const silent = createLogger({ level: 'silent', destination: { write: () => true } as never });

async function engineWithGate(requests: number, opts: { recentlyAuthenticated?: (a: string) => boolean } = {}): Promise<StartedEngine> {
  const config = validateConfig({ sip: { rate_limit_requests: requests, rate_limit_window_ms: 60_000, rate_limit_block_ms: 60_000 } });
  const gate = buildRequestGate(config, systemClock, silent, () => false, opts.recentlyAuthenticated ?? (() => false));
  return startEngine({ gate });
}

function uniq(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** An INVITE whose Max-Forwards is not a number: the parser rejects it, the transport answers 400. */
function malformed(callId: string, port: number, userAgent?: string): string {
  return requestText({ method: 'INVITE', callId, via: { transport: 'UDP', host: '127.0.0.1', port }, extra: userAgent ? [`User-Agent: ${userAgent}`] : [] }).replace(
    'Max-Forwards: 70',
    'Max-Forwards: seventy',
  );
}

t.test('malformed requests meet the gate before the 400: scanners and blocked sources get nothing', async (t) => {
  const s = await engineWithGate(4);
  t.teardown(() => s.engine.stop());
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const via = { transport: 'UDP' as const, host: '127.0.0.1', port: peer.port };
  const answer = (callId: string, ms = 400) => arrivesWithin((w) => peer.response((r) => r.headers.get('call-id') === callId, w), ms);

  const plain = uniq('malformed'); // request 1
  peer.send(malformed(plain, peer.port));
  const bad = await peer.response((r) => r.headers.get('call-id') === plain, 2000, '400');
  t.equal(bad.status, 400, 'an ordinary source gets its 400');

  const scanner = uniq('scanner'); // request 2
  peer.send(malformed(scanner, peer.port, 'friendly-scanner'));
  t.notOk(await answer(scanner), 'a scanner\'s malformed request gets no 400');

  for (let i = 0; i < 2; i++) {
    const id = uniq('options'); // requests 3 and 4
    peer.send(requestText({ method: 'OPTIONS', callId: id, via }));
    await peer.response((r) => r.status === 200 && r.headers.get('call-id') === id, 2000, '200 to OPTIONS');
  }
  const over = uniq('over'); // request 5: over the limit, the source is now blocked
  peer.send(requestText({ method: 'OPTIONS', callId: over, via }));
  t.notOk(await answer(over), 'the request over the limit is dropped');
  const blocked = uniq('blocked');
  peer.send(malformed(blocked, peer.port));
  t.notOk(await answer(blocked), 'a blocked source\'s malformed request gets no 400');
});

t.test('requests within a dialog are not rate-limited: a busy call still gets its BYE answered', async (t) => {
  // 3 requests per minute: counted like a stranger, this call could not even send its BYE.
  const s = await engineWithGate(3);
  t.teardown(() => s.engine.stop());
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const via = { transport: 'UDP' as const, host: '127.0.0.1', port: peer.port };
  const callId = uniq('dialog');
  const call = new Promise<IncomingCall>((resolve) => s.engine.once('call', resolve));
  peer.send(requestText({ method: 'INVITE', callId, via, body: OFFER_SDP }));
  const c = await call;
  await c.answer(OFFER_SDP);
  const ok = await peer.response((r) => r.status === 200 && r.headers.get('call-id') === callId, 2000, '200 OK');
  const toTag = /;tag=([^;>\s]+)/.exec(ok.headers.get('to') ?? '')?.[1];
  const confirmed = new Promise<void>((resolve) => c.once('confirmed', resolve));
  peer.send(requestText({ method: 'ACK', callId, via, toTag }));
  await confirmed;
  const infos: string[] = [];
  c.on('info', (_type, body) => infos.push(body));
  for (let cseq = 2; cseq <= 9; cseq++) {
    peer.send(requestText({ method: 'INFO', callId, via, toTag, cseq, body: `Signal=${cseq}\r\nDuration=100\r\n`, extra: ['Content-Type: application/dtmf-relay'] }).replace('Content-Type: application/sdp\r\n', ''));
    await peer.response((r) => r.status === 200 && r.headers.get('cseq') === `${cseq} INFO`, 2000, `200 to INFO ${cseq}`);
  }
  t.equal(infos.length, 8, 'eight in-dialog INFOs, far over the limit, all reached the call');
  const ended = new Promise<string>((resolve) => c.once('ended', resolve));
  peer.send(requestText({ method: 'BYE', callId, via, toTag, cseq: 10 }));
  await peer.response((r) => r.status === 200 && r.headers.get('cseq') === '10 BYE', 2000, '200 to BYE');
  t.equal(await ended, 'remote-bye');

  // Outside a dialog the same source is a stranger: only its INVITE counted (the ACK was in the
  // dialog), so two more requests pass and the next is over the limit.
  for (const n of ['second', 'third']) {
    const id = uniq(n);
    peer.send(requestText({ method: 'OPTIONS', callId: id, via }));
    await peer.response((r) => r.headers.get('call-id') === id, 2000, `the ${n} counted request passes`);
  }
  const fourth = uniq('fourth');
  peer.send(requestText({ method: 'OPTIONS', callId: fourth, via }));
  t.notOk(await arrivesWithin((w) => peer.response((r) => r.headers.get('call-id') === fourth, w), 400), 'the fourth is dropped');

  // A forged To tag (no such dialog) does not buy an exemption.
  const forged = uniq('forged');
  peer.send(requestText({ method: 'BYE', callId: forged, via, toTag: 'guessed', cseq: 2 }));
  t.notOk(await arrivesWithin((w) => peer.response((r) => r.headers.get('call-id') === forged, w), 400), 'a BYE for no dialog is still limited');
});

t.test('a recently authenticated source is not rate-limited', async (t) => {
  const s = await engineWithGate(2, { recentlyAuthenticated: (a) => a === '127.0.0.1' });
  t.teardown(() => s.engine.stop());
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const via = { transport: 'UDP' as const, host: '127.0.0.1', port: peer.port };
  for (let i = 0; i < 6; i++) {
    const id = uniq('options');
    peer.send(requestText({ method: 'OPTIONS', callId: id, via }));
    await peer.response((r) => r.status === 200 && r.headers.get('call-id') === id, 2000, `200 to OPTIONS ${i + 1}`);
  }
  t.pass('six requests with a limit of two, all answered');
});
