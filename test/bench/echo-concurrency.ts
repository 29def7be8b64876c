/**
 * Echo calls through rtpengine at fixed concurrency (issue 4, "Performance"): for each step N,
 * SIPp holds N calls to the echo agent up at once, each streaming A-law RTP for about 28.8 s
 * (sipp-scenarios/bench-uac-echo-rtp.xml), and the daemon runs rtpengine itself
 * ([rtpengine] mode = "managed"). A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/echo-concurrency.js
 *     [--steps 50,100,200,400] [--rate 50] [--probe-seconds 10] [--keep]
 *
 * Measured per step: CPU of the daemon and of its rtpengine child (utime+stime from
 * /proc/<pid>/stat over the SIPp run) divided by the call-seconds the CDRs record (answered_at to
 * ended_at), so call set-up and tear-down are included; RSS of both at the plateau minus their idle
 * RSS, over N; RTP counts from each CDR's details.media (received by the echo endpoint, sent by
 * it) against the 944 packets the scenario sends per call; failed calls from SIPp's statistics.
 * SIPp cannot count the RTP it receives back, so the return path is measured by one probe call
 * per step placed from this program (its own SIP over UDP and a 20 ms PCMA stream) while the N
 * calls are up: it counts echoed packets and measures round-trip time and its variation (the
 * jitter the gateway and rtpengine add, with this program's own send-timer jitter shown next
 * to it).
 *
 * Process plumbing (/proc readers, waiting for SIP, stopping children) is shared with
 * sip-call-rate.ts through bench-process.ts.
 * Needs Debian's `sipp` (sip-tester), `rtpengine` (rtpengine-daemon), `timeout`; Linux only;
 * SIPp's play_pcap_audio uses a raw socket, so it runs as root (or with CAP_NET_RAW).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { freePort } from '../helpers/ports.js';
import { SCENARIOS } from '../helpers/sipp.js';
import { cpuMs, lastStats, statusKb, stopProcess, waitForSip, machineJiffies, rtpenginePid, maxRowid, samplePeaks, benchGatewayFiles, provisionEchoBench, type BenchGateway } from './bench-process.js';

const NUMBER = '+14155550100';
const SCENARIO = join(SCENARIOS, 'bench-uac-echo-rtp.xml');
const MAIN = resolve(fileURLToPath(import.meta.url), '../../../src/main.js');
/** RTP packets one scenario call sends: 4 plays of g711a.pcap (236 packets each). */
const PACKETS_PER_CALL = 4 * 236;
/** Scenario call length from ACK to BYE (4 × 7.2 s of pauses). */
const HOLD_MS = 4 * 7200;
const SAMPLE_MS = 250;
const DAEMON_STOP_GRACE_MS = 40_000;
/** The probe call's Call-ID prefix: the CDRs of SIPp's calls are the others (the caller is sealed in the CDR). */
const PROBE_CALL_ID = 'echo-probe-';

interface Options {
  steps: number[];
  rate: number;
  probeSeconds: number;
  keep: boolean;
}

function positiveInt(name: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) throw new TypeError(`${name} needs a whole number ≥ 1, got ${String(value)}`);
  return Number(value);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { steps: [50, 100, 200, 400], rate: 50, probeSeconds: 10, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--steps': o.steps = (next() ?? '').split(',').map((s) => positiveInt(a, s.trim())); break;
      case '--rate': o.rate = positiveInt(a, next()); break;
      case '--probe-seconds': o.probeSeconds = positiveInt(a, next()); break;
      case '--keep': o.keep = true; break;
      case '--help':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] + '*/\n');
        process.exit(0);
        break;
      default: throw new TypeError(`unknown option ${String(a)} (see --help)`);
    }
  }
  if (o.steps.length === 0 || o.steps.length > 20 || o.steps.some((n) => n > 450)) throw new TypeError('1 to 20 steps of at most 450 calls (daemon.max_calls)');
  if (o.probeSeconds * 1000 > HOLD_MS - 5000) throw new TypeError(`--probe-seconds must leave the probe inside the ${HOLD_MS / 1000} s hold`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The gateway

type Gateway = BenchGateway;

async function setUpGateway(): Promise<Omit<Gateway, 'child' | 'pid'>> {
  const { dir, configPath, dbPath, baseToml } = benchGatewayFiles('kalem-echo-bench-');
  const sipPort = await freePort();
  // Media ranges above freePort's 42000-60000 so the SIPp and probe ports never collide with them.
  writeFileSync(
    configPath,
    `${baseToml}[daemon]
max_calls = 450
drain_timeout_ms = 2000
[sip]
listen_address = "127.0.0.1"
udp_port = ${sipPort}
tcp_port = -1
tls_port = -1
rate_limit_requests = 100000000
[media]
address = "127.0.0.1"
port_min = 60100
port_max = 60999
[api]
port = -1
[rtpengine]
mode = "managed"
port_min = 61000
port_max = 65499
`,
  );
  await provisionEchoBench(configPath, NUMBER);
  return { dir, logPath: join(dir, 'daemon.log'), dbPath, sipPort };
}

// ---------------------------------------------------------------------------------------------
// The probe call: SIP by hand over UDP, 20 ms PCMA, and the echo timed per packet.

interface ProbeResult {
  ok: boolean;
  error?: string;
  sent: number;
  echoed: number;
  rttP50Ms: number;
  rttP99Ms: number;
  rttMaxMs: number;
  /** Standard deviation of the round-trip time: the jitter the path adds. */
  rttStdMs: number;
  /** RFC 3550 interarrival jitter of the echoed stream, computed from the send times we embed. */
  rfc3550JitterMs: number;
  /** How late our own 20 ms sends were on average (this program's timer jitter). */
  sendLatenessMeanMs: number;
}

function sipRequestOnce(sock: Socket, msg: string, port: number, match: (m: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolveP, rejectP) => {
    const onMsg = (b: Buffer): void => {
      const m = b.toString('utf8');
      if (!match(m)) return;
      clearTimeout(timer);
      sock.off('message', onMsg);
      resolveP(m);
    };
    const timer = setTimeout(() => {
      sock.off('message', onMsg);
      rejectP(new Error('no answer in time'));
    }, timeoutMs);
    sock.on('message', onMsg);
    sock.send(msg, port, '127.0.0.1');
  });
}

async function probeCall(sipPort: number, seconds: number): Promise<ProbeResult> {
  const sip = createSocket('udp4');
  const rtp = createSocket('udp4');
  await new Promise<void>((r) => sip.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r));
  const lp = sip.address().port;
  const rtpPort = rtp.address().port;
  const callId = `${PROBE_CALL_ID}${Date.now()}@127.0.0.1`;
  const target = `sip:${NUMBER}@127.0.0.1:${sipPort}`;
  const from = `<sip:+14155550998@127.0.0.1:${lp}>;tag=probe${lp}`;
  const sdp = ['v=0', `o=probe 1 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtpPort} RTP/AVP 8`, 'a=rtpmap:8 PCMA/8000', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
  const req = (method: string, cseq: number, to: string, branch: string, body = ''): string =>
    [
      `${method} ${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bK-${branch};rport`,
      `From: ${from}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:probe@127.0.0.1:${lp}>`,
      'Max-Forwards: 70',
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  const empty: ProbeResult = { ok: false, sent: 0, echoed: 0, rttP50Ms: NaN, rttP99Ms: NaN, rttMaxMs: NaN, rttStdMs: NaN, rfc3550JitterMs: NaN, sendLatenessMeanMs: NaN };
  try {
    const ok200 = await sipRequestOnce(sip, req('INVITE', 1, `<${target}>`, `inv${lp}`, sdp), sipPort, (m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && /CSeq: 1 INVITE/i.test(m), 10_000);
    if (!ok200.startsWith('SIP/2.0 200')) return { ...empty, error: ok200.split('\r\n')[0] };
    const to = /^To:\s*(.+)$/im.exec(ok200)?.[1]?.trim() ?? `<${target}>`;
    const media = /^m=audio (\d+)/m.exec(ok200);
    const conn = /^c=IN IP4 (\S+)/m.exec(ok200);
    sip.send(req('ACK', 1, to, `ack${lp}`), sipPort, '127.0.0.1');
    if (!media?.[1] || !conn?.[1]) return { ...empty, error: 'no media in the 200' };
    const rAddr = conn[1];
    const rPort = Number(media[1]);

    // Each packet carries its index in the first 4 payload bytes; the echo returns the payload.
    const total = Math.round((seconds * 1000) / 20);
    const sentAt = new Float64Array(total);
    const rtts: number[] = [];
    let jitter = 0;
    let lastTransit: number | undefined;
    const seen = new Set<number>();
    rtp.on('message', (b: Buffer) => {
      const now = performance.now();
      if (b.length < 16) return;
      const idx = b.readUInt32BE(12);
      if (idx >= total || seen.has(idx)) return;
      seen.add(idx);
      const transit = now - (sentAt[idx] ?? now);
      rtts.push(transit);
      if (lastTransit !== undefined) jitter += (Math.abs(transit - lastTransit) - jitter) / 16;
      lastTransit = transit;
    });
    const ssrc = 0x4b414c45;
    const t0 = performance.now();
    let lateness = 0;
    for (let i = 0; i < total; i++) {
      const due = t0 + i * 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const pkt = Buffer.alloc(12 + 160, 0xd5);
      pkt[0] = 0x80;
      pkt[1] = 8;
      pkt.writeUInt16BE(i & 0xffff, 2);
      pkt.writeUInt32BE((i * 160) >>> 0, 4);
      pkt.writeUInt32BE(ssrc, 8);
      pkt.writeUInt32BE(i, 12);
      sentAt[i] = performance.now();
      lateness += sentAt[i]! - due;
      rtp.send(pkt, rPort, rAddr);
    }
    await new Promise((r) => setTimeout(r, 500)); // the last echoes
    await sipRequestOnce(sip, req('BYE', 2, to, `bye${lp}`), sipPort, (m) => /^SIP\/2\.0 \d\d\d/.test(m) && /CSeq: 2 BYE/i.test(m), 10_000).catch(() => '');
    const sorted = [...rtts].sort((a, b) => a - b);
    const mean = rtts.reduce((s, x) => s + x, 0) / Math.max(1, rtts.length);
    const std = Math.sqrt(rtts.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, rtts.length));
    const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
    return {
      ok: true,
      sent: total,
      echoed: seen.size,
      rttP50Ms: pct(50),
      rttP99Ms: pct(99),
      rttMaxMs: sorted.at(-1) ?? NaN,
      rttStdMs: std,
      rfc3550JitterMs: jitter,
      sendLatenessMeanMs: lateness / total,
    };
  } catch (err) {
    return { ...empty, error: (err as Error).message };
  } finally {
    sip.close();
    rtp.close();
  }
}

// ---------------------------------------------------------------------------------------------
// One step

interface StepResult {
  n: number;
  successful: number;
  failed: number;
  callSeconds: number;
  daemonCpuMs: number;
  rtpCpuMs: number;
  daemonRssPerCallKb: number;
  rtpRssPerCallKb: number;
  daemonPeakRssKb: number;
  rtpPeakRssKb: number;
  cdrCalls: number;
  cdrOpen: number;
  expectedIn: number;
  echoReceived: number;
  echoSent: number;
  probe: ProbeResult;
  /** Share of all CPUs busy (any process) over the step, in %. */
  machineBusyPct: number;
  load1Max: number;
  wallS: number;
  sippExit: number | null;
}



/** The step's SIPp calls (not the probe) after rowid `after`: counts, call-seconds and RTP totals. */
function stepCdrs(dbPath: string, after: number): { calls: number; open: number; callSeconds: number; received: number; sent: number } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db
      .prepare('SELECT answered_at, ended_at, details, sip_call_id FROM calls WHERE rowid > ?')
      .all(after) as Array<{ answered_at: string | null; ended_at: string | null; details: string; sip_call_id: string }>;
    const bySipp = (r: { sip_call_id: string }): boolean => !r.sip_call_id.startsWith(PROBE_CALL_ID);
    let callSeconds = 0;
    let received = 0;
    let sent = 0;
    for (const r of rows) {
      // Call-seconds count the probe call too: its packets are in the CPU figures.
      if (r.answered_at && r.ended_at) callSeconds += (Date.parse(r.ended_at) - Date.parse(r.answered_at)) / 1000;
      if (!bySipp(r)) continue;
      const m = (JSON.parse(r.details) as { media?: { received?: number; sent?: number } }).media;
      received += m?.received ?? 0;
      sent += m?.sent ?? 0;
    }
    const sippRows = rows.filter(bySipp);
    return { calls: sippRows.length, open: sippRows.filter((r) => !r.ended_at).length, callSeconds, received, sent };
  } finally {
    db.close();
  }
}

async function runStep(gw: Gateway, rtpPid: number, idle: { daemonKb: number; rtpKb: number }, n: number, o: Options, sippPort: number, index: number): Promise<StepResult> {
  const dir = join(gw.dir, `step-${index + 1}-${n}`); // the same N may be repeated
  mkdirSync(dir);
  const rampS = n / o.rate;
  const boundS = Math.ceil(rampS + HOLD_MS / 1000 + 60);
  const args = [
    '-k', '5', String(boundS),
    'sipp', '-sf', SCENARIO, '-t', 'u1',
    '-i', '127.0.0.1', '-p', String(sippPort), '-mi', '127.0.0.1', '-mp', String(sippPort + 2),
    '-s', NUMBER,
    '-r', String(o.rate), '-rp', '1000', '-m', String(n), '-l', String(n), '-d', '0',
    '-recv_timeout', '10000', '-timeout', `${boundS - 10}s`,
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-nostdin',
    `127.0.0.1:${gw.sipPort}`,
  ];
  const rowid0 = maxRowid(gw.dbPath);
  const cpuD0 = cpuMs(gw.pid) ?? 0;
  const cpuR0 = cpuMs(rtpPid) ?? 0;
  const m0 = machineJiffies();
  const t0 = performance.now();
  const out = openSync(join(dir, 'sipp.out'), 'w');
  const sipp = spawn('timeout', args, { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  running.sipp = sipp;
  const sampler = samplePeaks(gw.pid, rtpPid, SAMPLE_MS);
  // The probe starts once all N calls should be up (ramp plus 2 s) and ends well inside the hold.
  const probe = new Promise<void>((r) => setTimeout(r, (rampS + 2) * 1000)).then(() => probeCall(gw.sipPort, o.probeSeconds));
  const [code] = (await once(sipp, 'exit')) as [number | null];
  const probeResult = await probe;
  const { daemonKb: dPeak, rtpKb: rPeak, load1Max } = sampler.stop();
  running.sipp = undefined;
  const wallS = (performance.now() - t0) / 1000;
  const cpuD = (cpuMs(gw.pid) ?? cpuD0) - cpuD0;
  const cpuR = (cpuMs(rtpPid) ?? cpuR0) - cpuR0;
  const m1 = machineJiffies();
  await new Promise((r) => setTimeout(r, 3000)); // last BYEs and CDR writes
  const stats = existsSync(join(dir, 'stat.csv')) ? lastStats(join(dir, 'stat.csv')) : {};
  const num = (k: string): number => Number(stats[k] ?? 0) || 0;
  const successful = num('SuccessfulCall(C)');
  const cdr = stepCdrs(gw.dbPath, rowid0);
  return {
    n,
    successful,
    failed: n - successful,
    callSeconds: cdr.callSeconds,
    daemonCpuMs: cpuD,
    rtpCpuMs: cpuR,
    daemonRssPerCallKb: (dPeak - idle.daemonKb) / n,
    rtpRssPerCallKb: (rPeak - idle.rtpKb) / n,
    daemonPeakRssKb: dPeak,
    rtpPeakRssKb: rPeak,
    cdrCalls: cdr.calls,
    cdrOpen: cdr.open,
    expectedIn: successful * PACKETS_PER_CALL,
    echoReceived: cdr.received,
    echoSent: cdr.sent,
    probe: probeResult,
    machineBusyPct: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
    load1Max,
    wallS,
    sippExit: code,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pctLoss = (expected: number, got: number): string => (expected > 0 ? `${f((100 * (expected - got)) / expected, 2)} %` : '–');

function table(rs: StepResult[], idleDaemonMsPerS: number): string {
  const head =
    '| concurrent calls | completed / failed | call-s (CDR) | daemon CPU ms per call-s | daemon, idle CPU subtracted | rtpengine CPU ms per call-s | daemon RSS per call KB | rtpengine RSS per call KB | RTP sent by SIPp / received by echo (loss) | echo sent / received | probe echoed / sent | probe RTT p50 / p99 / max ms | probe RTT std-dev ms | probe RFC 3550 jitter ms | probe send lateness ms | all CPUs busy % | load avg 1 min (max) |';
  const rule = `|${'---:|'.repeat(17)}`;
  const rows = rs.map((r) => {
    const p = r.probe;
    const probe = p.ok
      ? `${p.echoed} / ${p.sent} | ${f(p.rttP50Ms, 2)} / ${f(p.rttP99Ms, 2)} / ${f(p.rttMaxMs, 2)} | ${f(p.rttStdMs, 2)} | ${f(p.rfc3550JitterMs, 2)} | ${f(p.sendLatenessMeanMs, 2)}`
      : `failed: ${p.error ?? '?'} | – | – | – | –`;
    return `| ${r.n} | ${r.successful} / ${r.failed} | ${f(r.callSeconds)} | ${f(r.daemonCpuMs / r.callSeconds, 2)} | ${f((r.daemonCpuMs - idleDaemonMsPerS * r.wallS) / r.callSeconds, 2)} | ${f(r.rtpCpuMs / r.callSeconds, 2)} | ${f(r.daemonRssPerCallKb)} | ${f(r.rtpRssPerCallKb)} | ${r.expectedIn} / ${r.echoReceived} (${pctLoss(r.expectedIn, r.echoReceived)}) | ${r.echoSent} / ${r.echoReceived} | ${probe} | ${f(r.machineBusyPct)} | ${r.load1Max.toFixed(2)} |`;
  });
  return [head, rule, ...rows].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

const running: { daemon?: ChildProcess | undefined; sipp?: ChildProcess | undefined; tempDir?: string | undefined } = {};

async function cleanUp(): Promise<void> {
  await stopProcess(running.sipp, 3000);
  running.sipp = undefined;
  await stopProcess(running.daemon, DAEMON_STOP_GRACE_MS); // the daemon stops its rtpengine (and pdeathsig)
  running.daemon = undefined;
  if (running.tempDir) rmSync(running.tempDir, { recursive: true, force: true });
  running.tempDir = undefined;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping SIPp and the daemon\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const setUp = await setUpGateway();
  if (!o.keep) running.tempDir = setUp.dir;
  process.stderr.write(`bench dir ${setUp.dir}; steps ${o.steps.join(', ')} concurrent calls, ramp ${o.rate} calls/s, hold ${HOLD_MS / 1000} s\n`);
  const log = openSync(setUp.logPath, 'a');
  const child = spawn(process.execPath, [MAIN, '--config', join(setUp.dir, 'kalem.toml'), 'serve'], { stdio: ['ignore', log, log] });
  closeSync(log);
  running.daemon = child;
  try {
    if (child.pid === undefined) throw new Error('could not start the daemon');
    const gw: Gateway = { ...setUp, child, pid: child.pid };
    await waitForSip(gw.sipPort, child, NUMBER);
    let rtpPid: number | undefined;
    for (let i = 0; i < 100 && rtpPid === undefined; i++) {
      rtpPid = rtpenginePid(gw.pid);
      if (rtpPid === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    if (rtpPid === undefined) throw new Error('no rtpengine child of the daemon found');
    // A warm-up call so that idle RSS is measured after first-call allocations (JIT, sockets).
    const warm = await probeCall(gw.sipPort, 2);
    if (!warm.ok) throw new Error(`warm-up probe call failed: ${warm.error ?? '?'}`);
    await new Promise((r) => setTimeout(r, 2000));
    const idle = { daemonKb: statusKb(gw.pid, 'VmRSS') ?? 0, rtpKb: statusKb(rtpPid, 'VmRSS') ?? 0 };
    // Idle CPU (timers, rtpengine's own loops): part of every step's figure, worth seeing alone.
    const idleD0 = cpuMs(gw.pid) ?? 0;
    const idleR0 = cpuMs(rtpPid) ?? 0;
    await new Promise((r) => setTimeout(r, 5000));
    const idleCpu = { daemon: ((cpuMs(gw.pid) ?? idleD0) - idleD0) / 5, rtp: ((cpuMs(rtpPid) ?? idleR0) - idleR0) / 5 };
    process.stderr.write(`daemon pid ${gw.pid} RSS ${f(idle.daemonKb / 1024)} MB, rtpengine pid ${rtpPid} RSS ${f(idle.rtpKb / 1024)} MB idle\n`);
    const sippPort = await freePort();
    const results: StepResult[] = [];
    for (const n of o.steps) {
      if (interrupted) break;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon died (code ${child.exitCode}, signal ${child.signalCode})`);
      if (rtpenginePid(gw.pid) !== rtpPid) throw new Error('rtpengine was restarted or is gone');
      process.stderr.write(`step ${n} calls … `);
      const r = await runStep(gw, rtpPid, idle, n, o, sippPort, results.length);
      results.push(r);
      process.stderr.write(
        `${r.successful} ok, ${r.failed} failed, daemon ${f(r.daemonCpuMs / r.callSeconds, 2)} ms/call-s, rtpengine ${f(r.rtpCpuMs / r.callSeconds, 2)} ms/call-s, load ${r.load1Max}\n`,
      );
      await new Promise((res) => setTimeout(res, 2000));
    }
    const exit = await stopProcess(child, DAEMON_STOP_GRACE_MS);
    running.daemon = undefined;
    const lines = [
      table(results, idleCpu.daemon),
      '',
      `Idle CPU over 5 s with no calls: daemon ${f(idleCpu.daemon, 1)} ms/s, rtpengine ${f(idleCpu.rtp, 1)} ms/s.`,
      `Idle: daemon RSS ${f(idle.daemonKb / 1024, 1)} MB, rtpengine RSS ${f(idle.rtpKb / 1024, 1)} MB. Peaks: ${results.map((r) => `${r.n}: daemon ${f(r.daemonPeakRssKb / 1024, 1)} MB, rtpengine ${f(r.rtpPeakRssKb / 1024, 1)} MB`).join('; ')}.`,
      `CDRs per step (calls / still open): ${results.map((r) => `${r.n}: ${r.cdrCalls} / ${r.cdrOpen}`).join(', ')}. SIPp exit codes: ${results.map((r) => `${r.n}: ${String(r.sippExit)}`).join(', ')}. Step wall times: ${results.map((r) => `${r.n}: ${f(r.wallS)} s`).join(', ')}.`,
      `Daemon ${exit}.`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return results.length === o.steps.length && results.every((r) => r.failed === 0) ? 0 : 1;
  } finally {
    await cleanUp();
    if (o.keep) process.stderr.write(`kept ${setUp.dir}\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof TypeError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    void cleanUp().finally(() => process.exit(1));
  },
);
