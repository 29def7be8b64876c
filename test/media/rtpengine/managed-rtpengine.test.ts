// Managed mode against the REAL rtpengine 10.5 (Debian rtpengine-daemon): start-up on free
// loopback ports, readiness by ng ping, restart after SIGKILL, the restart budget, stop on close
// and after this process's own death. One test uses a stand-in binary (a small Node script that
// answers ng pings and ignores SIGTERM) because a real rtpengine always honours SIGTERM.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ManagedRtpengine, type ManagedRtpengineEvents } from '../../../src/media/rtpengine/managed-rtpengine.js';
import { NgClient } from '../../../src/media/rtpengine/ng-client.js';
import { openRtpengine } from '../../../src/media/rtpengine/open-rtpengine.js';
import { RtpengineError } from '../../../src/media/rtpengine/rtpengine-error.js';
import { mediaPortRange, pgrep, processAlive, rtpengineMissing, startManaged, waitGone } from './helpers.js';

/** The next `event` from the supervisor; rejects (fails the test) if it does not come in time. */
function nextEvent<E extends keyof ManagedRtpengineEvents & string>(
  sup: ManagedRtpengine,
  event: E,
  timeoutMs = 10_000,
): Promise<ManagedRtpengineEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    sup.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function rejection(p: Promise<unknown>): Promise<RtpengineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RtpengineError)) throw new Error(`expected an RtpengineError, got ${String(err)}`);
  return err;
}

const missing = rtpengineMissing();
if (missing !== undefined) {
  t.fail(missing);
} else {
  t.test('starts on loopback with generated arguments, answers ping, and close() leaves nothing behind', async (t) => {
    const range = mediaPortRange();
    const rtp = await openRtpengine({ mode: 'managed', ...range });
    const sup = rtp.supervisor!;
    t.equal(sup.state, 'ready');
    const pid = sup.pid!;
    t.ok(processAlive(pid), `rtpengine runs as pid ${pid}`);
    t.match(rtp.ngAddress, /^127\.0\.0\.1:\d+$/, 'ng on loopback');
    const args = sup.args;
    for (const expected of [
      '--config-file=none',
      '--table=-1',
      '--foreground',
      '--log-stderr',
      `--listen-ng=${rtp.ngAddress}`,
      `--port-min=${range.portMin}`,
      `--port-max=${range.portMax}`,
      '--interface=carrier/127.0.0.1',
      '--interface=internal/127.0.0.1',
    ]) {
      t.ok(args.includes(expected), `argument ${expected}`);
    }
    t.ok(args.some((a) => /^--listen-cli=127\.0\.0\.1:\d+$/.test(a)), 'a CLI port of its own on loopback');
    t.notOk(args.some((a) => /iptables/.test(a)), 'no iptables');
    const pidfile = args.find((a) => a.startsWith('--pidfile='))!.slice('--pidfile='.length);
    t.equal(readFileSync(pidfile, 'utf8').trim(), String(pid), 'pidfile holds the pid');
    t.same(pgrep(`--listen-ng=${rtp.ngAddress}`), [pid], 'pgrep finds exactly this instance');
    t.ok((await rtp.client.ping()) >= 0, 'pong');

    let exitedEvents = 0;
    sup.on('exited', () => exitedEvents++);
    await rtp.close();
    t.equal(sup.state, 'closed');
    t.notOk(processAlive(pid), 'the process is gone');
    t.same(pgrep(`--listen-ng=${rtp.ngAddress}`), [], 'pgrep finds nothing');
    t.notOk(existsSync(dirname(pidfile)), 'state directory removed');
    t.equal(exitedEvents, 0, 'a requested stop is not an "exited" event');
    await t.resolves(rtp.close(), 'close() again resolves: idempotent');
    t.equal((await rejection(rtp.client.ping())).reason, 'closed', 'the client is closed too');
  });

  t.test('SIGKILL: exited, then restarted and ready; commands during the outage fail fast and retryable', async (t) => {
    const rtp = await startManaged(t, { managed: { restartDelayMs: 300 } });
    const sup = rtp.supervisor!;
    const order: string[] = [];
    for (const e of ['exited', 'restarted', 'ready'] as const) sup.on(e, () => order.push(e));
    const pid1 = sup.pid!;

    const exited = nextEvent(sup, 'exited');
    process.kill(pid1, 'SIGKILL');
    const [info] = await exited;
    t.equal(info.pid, pid1);
    t.equal(info.signal, 'SIGKILL');
    t.equal(sup.state, 'restarting');

    // rtpengine is down for at least restartDelayMs: every command in flight is rejected, none hangs.
    const started = Date.now();
    const errors = await Promise.all(
      [rtp.client.ping(), rtp.client.list(), rtp.client.offer({ sdp: 'v=0\r\n', 'call-id': 'during-outage', 'from-tag': 'f' })].map(rejection),
    );
    for (const err of errors) {
      t.equal(err.retryable, true, `${err.command}: retryable (${err.reason})`);
      t.ok(['socket', 'timeout'].includes(err.reason));
    }
    t.ok(Date.now() - started < 3500, 'rejected within the command deadline');
    t.equal(rtp.client.pendingCount, 0, 'nothing left pending');

    const [ready] = await nextEvent(sup, 'ready');
    t.equal(ready.restarts, 1);
    t.not(ready.pid, pid1, 'a new process');
    t.ok(processAlive(ready.pid));
    t.same(order, ['exited', 'restarted', 'ready'], 'events in order');
    t.equal(sup.state, 'ready');
    t.ok((await rtp.client.ping()) >= 0, 'the same client works again');
    t.same(pgrep(`--listen-ng=${rtp.ngAddress}`), [ready.pid], 'only the new instance runs');
    t.notOk(processAlive(pid1));

    await rtp.close();
    t.notOk(processAlive(ready.pid), 'close() stops the restarted instance');
  });

  t.test('past its restart budget the supervisor gives up with "failed"', async (t) => {
    const rtp = await startManaged(t, { managed: { restartDelayMs: 10, restartBudget: 1, restartWindowMs: 60_000 } });
    const sup = rtp.supervisor!;
    const ready = nextEvent(sup, 'ready');
    process.kill(sup.pid!, 'SIGKILL');
    const [{ pid }] = await ready;
    const failed = nextEvent(sup, 'failed');
    process.kill(pid, 'SIGKILL');
    const [err] = await failed;
    t.match(err.message, /not restarting again/);
    t.equal(sup.state, 'failed');
    t.equal(sup.pid, undefined);
    t.equal((await rejection(rtp.client.ping())).retryable, true, 'commands fail, retryable');
  });

  t.test('a start-up failure rejects start() with rtpengine\'s own words and leaves nothing running', async (t) => {
    // Someone else holds the ng port: rtpengine cannot bind it and exits.
    const squatter = createSocket('udp4');
    await new Promise<void>((r) => squatter.bind(0, '127.0.0.1', () => r()));
    t.teardown(() => squatter.close());
    const ngAddress = `127.0.0.1:${squatter.address().port}`;
    const sup = new ManagedRtpengine({ ...mediaPortRange(), ngAddress, readyAttempts: 30 });
    const err = await sup.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    t.ok(err instanceof Error, 'start() rejects');
    t.match(err?.message ?? '', /exited during start-up|did not answer ping/);
    t.equal(sup.state, 'closed');
    t.same(pgrep(`--listen-ng=${ngAddress}`), [], 'no rtpengine left');

    const noBinary = new ManagedRtpengine({ ...mediaPortRange(), binary: '/nonexistent/rtpengine' });
    await t.rejects(noBinary.start(), /exited during start-up/, 'a missing binary is a clear start-up error');
    t.throws(() => new ManagedRtpengine({ portMin: 30000, portMax: 30001 }), TypeError, 'a range too small is a TypeError');
  });

  t.test('rtpengine dies with the daemon, even when the daemon is SIGKILLed (parent-death signal)', async (t) => {
    const moduleUrl = new URL('../../../src/media/rtpengine/managed-rtpengine.js', import.meta.url).href;
    // The killed daemon cannot clean up its state directory, so the test owns it.
    const stateDir = mkdtempSync(join(tmpdir(), 'kalem-rtpengine-test-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    const script = `
      import { ManagedRtpengine } from ${JSON.stringify(moduleUrl)};
      const m = new ManagedRtpengine(${JSON.stringify({ ...mediaPortRange(), stateDir })});
      await m.start();
      process.stdout.write(m.pid + '\\n');
      setInterval(() => {}, 1000);
    `;
    const daemon = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => {
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    });
    const [chunk] = (await once(daemon.stdout, 'data')) as [Buffer];
    const pid = Number(chunk.toString().trim());
    t.ok(processAlive(pid), `the daemon's rtpengine runs (pid ${pid})`);
    daemon.kill('SIGKILL');
    await once(daemon, 'exit');
    t.ok(await waitGone(pid), 'and is gone once the daemon was killed');
  });

  t.test('external mode: only a client for an rtpengine someone else runs', async (t) => {
    const managed = await startManaged(t);
    const external = await openRtpengine({ mode: 'external', ngAddress: managed.ngAddress });
    t.equal(external.supervisor, undefined);
    t.equal(external.interfaces, undefined, 'no named interfaces unless configured');
    t.ok((await external.client.ping()) >= 0, 'pong from the running rtpengine');
    await external.close();
    await external.close();
    t.ok((await managed.client.ping()) >= 0, 'closing the external handle leaves that rtpengine running');
    await t.rejects(openRtpengine({ mode: 'external' }), TypeError, 'external needs ngAddress');
  });
}

t.test('close() escalates to SIGKILL when the process ignores SIGTERM (stand-in binary)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-fake-rtpengine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'fake-rtpengine');
  // Stand-in, not rtpengine: answers every ng request with pong and ignores SIGTERM.
  writeFileSync(
    binary,
    `#!${process.execPath}
const dgram = require('node:dgram');
process.on('SIGTERM', () => {});
const ng = process.argv.find((a) => a.startsWith('--listen-ng=')).slice('--listen-ng='.length);
const i = ng.lastIndexOf(':');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.concat([m.subarray(0, m.indexOf(32) + 1), Buffer.from('d6:result4:ponge')]), r.port, r.address));
s.bind(Number(ng.slice(i + 1)), ng.slice(0, i));
`,
  );
  chmodSync(binary, 0o755);
  const sup = new ManagedRtpengine({ ...mediaPortRange(), binary, stopTimeoutMs: 300 });
  await sup.start();
  const pid = sup.pid!;
  t.ok(processAlive(pid));
  const client = new NgClient({ address: sup.ngAddress });
  t.ok((await client.ping()) >= 0, 'the stand-in answers');
  client.close();
  const started = Date.now();
  await sup.close();
  t.ok(Date.now() - started >= 290, 'waited for the SIGTERM grace period');
  t.notOk(processAlive(pid), 'then SIGKILL ended it');
});
