/**
 * SIP call-rate benchmark (issue 3, "Performance"; issue 15 for drachtio): SIPp places
 * signalling-only calls (INVITE → 200 → ACK → BYE → 200, no RTP) to the echo agent at increasing
 * call rates until a step has failed calls or falls short of its rate. A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/sip-call-rate.js [--step-seconds 60]
 *     [--rates 50,100,150] | [--start-rate 50 --rate-step 50 --max-rate 1000]
 *     [--limit N] [--settle-seconds 3] [--keep] [--daemon-node-args "--cpu-prof --cpu-prof-dir=DIR"]
 *     [--engine embedded|drachtio] [--gateways N]
 *
 * `--engine drachtio` (needs DRACHTIO_BIN, a drachtio-server binary) starts a real drachtio-server
 * on loopback (test/helpers/drachtio.ts) and `--gateways N` daemons attached to it, sharing one
 * database; SIPp calls drachtio-server, which spreads the INVITEs over the daemons. The daemon
 * columns then add up every daemon; drachtio-server's own CPU has a column of its own. Each
 * daemon's /healthz is on (to know it is attached) at the price of prom-client's idle timer.
 *
 * The daemon runs as a separate process (`node dist/src/main.js --config <tmp> serve`) so that its
 * CPU time and RSS can be read from /proc/<pid>/stat and /proc/<pid>/status without SIPp or this
 * program in the numbers. Everything binds 127.0.0.1. Prints a markdown table on stdout and
 * progress on stderr; the result is the highest rate whose step had zero failed calls and reached
 * at least 95 % of the attempted rate (SIPp slows down rather than fails when -l is reached).
 * INVITE→200 times come from SIPp's -trace_rtt file, which has a resolution of 1 ms. After the
 * last step it waits (bounded) for calls the gateway still holds to end by Timer H, then reports
 * any left open, the daemon's warn/error log lines and its exit, so misbehaviour under load shows.
 *
 * Needs Debian's `sipp` (sip-tester) and `timeout` (coreutils) on PATH; Linux only (/proc).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { freePort } from '../helpers/ports.js';
import { SCENARIOS } from '../helpers/sipp.js';
import { cpuMs, lastStats, loadAvg1, statusKb, stopProcess, waitForSip, benchGatewayFiles, provisionEchoBench, type BenchGateway } from './bench-process.js';
import { DrachtioServer } from '../helpers/drachtio.js';
import { benchEngine, waitForHealthySip, writeFleetConfigs, type BenchEngine } from './drachtio-fleet.js';

const NUMBER = '+14155550100';
const SCENARIO = join(SCENARIOS, 'bench-uac-invite-bye.xml');
const MAIN = resolve(fileURLToPath(import.meta.url), '../../../src/main.js');
/** Hard bound on the number of steps, whatever the rate options say. */
const MAX_STEPS = 40;
/** A step must reach this share of the attempted rate to count as sustained. */
const SUSTAINED_SHARE = 0.95;
/** How often /proc is sampled while a step runs. */
const SAMPLE_MS = 250;
/** After the last step, how long to wait for calls still open to end by Timer H (32 s). */
const FINAL_WAIT_MS = 45_000;
/** The daemon drains 2 s, then BYEs what is left; its BYE client transactions may take Timer F (32 s). */
const DAEMON_STOP_GRACE_MS = 40_000;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  stepSeconds: number;
  rates: number[];
  /** SIPp -l; 0 = 10 s worth of calls at the step's rate. */
  limit: number;
  settleSeconds: number;
  keep: boolean;
  /** Extra node options for the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
  daemonNodeArgs: string[];
  engine: BenchEngine;
  /** Daemons attached to drachtio-server (drachtio engine only). */
  gateways: number;
}

function positiveInt(name: string, value: string | undefined, min = 1): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new TypeError(`${name} needs a whole number, got ${String(value)}`);
  const n = Number(value);
  if (n < min) throw new TypeError(`${name} must be at least ${min}, got ${n}`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const o = { stepSeconds: 60, limit: 0, settleSeconds: 3, keep: false, daemonNodeArgs: [] as string[], engine: 'embedded' as BenchEngine, gateways: 1 };
  let explicit: number[] | undefined;
  let start = 50;
  let step = 50;
  let max = 1000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--step-seconds': o.stepSeconds = positiveInt(a, next()); break;
      case '--limit': o.limit = positiveInt(a, next()); break;
      case '--settle-seconds': o.settleSeconds = positiveInt(a, next(), 0); break;
      case '--start-rate': start = positiveInt(a, next()); break;
      case '--rate-step': step = positiveInt(a, next()); break;
      case '--max-rate': max = positiveInt(a, next()); break;
      case '--rates': explicit = (next() ?? '').split(',').map((r) => positiveInt(a, r.trim())); break;
      case '--keep': o.keep = true; break;
      case '--daemon-node-args': o.daemonNodeArgs = (next() ?? '').split(' ').filter(Boolean); break;
      case '--engine': o.engine = benchEngine(next()); break;
      case '--gateways': o.gateways = positiveInt(a, next()); break;
      case '--help':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] + '*/\n');
        process.exit(0);
        break;
      default: throw new TypeError(`unknown option ${String(a)} (see --help)`);
    }
  }
  const rates = explicit ?? [];
  if (!explicit) for (let r = start; r <= max && rates.length < MAX_STEPS; r += step) rates.push(r);
  if (rates.length === 0 || rates.length > MAX_STEPS) throw new TypeError(`between 1 and ${MAX_STEPS} rates, got ${rates.length}`);
  if (o.gateways > 1 && o.engine !== 'drachtio') throw new TypeError('--gateways needs --engine drachtio (only drachtio-server spreads calls over daemons)');
  return { ...o, rates };
}

// ---------------------------------------------------------------------------------------------
// /proc readers beyond bench-process.ts. Linux only.

/** The first child of a process (SIPp under `timeout`). */
function childPid(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}


/**
 * UDP datagrams the kernel dropped because a socket's receive buffer was full (RcvbufErrors in
 * /proc/net/snmp). Machine-wide, so other programs count too; on loopback during a step it is in
 * practice the daemon's SIP socket, whose event loop stalls while SIPp keeps sending.
 */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0) || 0;
}

/** Datagrams dropped on one UDP socket of 127.0.0.1 (the `d` of `ss -m` skmem), if it is open. */
function socketDrops(port: number): number | undefined {
  try {
    const out = execFileSync('ss', ['-uanm', 'sport', '=', `:${port}`], { encoding: 'utf8', timeout: 5000 });
    const m = /skmem:\([^)]*\bd(\d+)\)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The gateway under test

type Gateway = BenchGateway;

/** With --engine drachtio: the drachtio-server, the daemons beside the first, and each daemon's API port. */
const fleet: { drachtio?: DrachtioServer; others: Gateway[]; apiPorts: Map<string, number> } = { others: [], apiPorts: new Map() };

/**
 * The drachtio engine's daemons: config `kalem-<i>.toml` each (own media range and API port), one
 * database and master key, SIP owned by drachtio-server.
 */
async function setUpDrachtioGateways(n: number): Promise<Array<Omit<Gateway, 'child' | 'pid'>>> {
  const drachtio = await DrachtioServer.start({ tls: false });
  fleet.drachtio = drachtio;
  const { dir, dbPath, baseToml } = benchGatewayFiles('kalem-bench-');
  const files = await writeFleetConfigs(
    drachtio,
    dir,
    baseToml,
    n,
    (i) => `[daemon]
max_calls = 2000
drain_timeout_ms = 2000
[media]
address = "127.0.0.1"
port_min = ${40000 + i * 5000}
port_max = ${44999 + i * 5000}
[rtpengine]
mode = "off"
`,
  );
  const out = files.map(({ configPath, logPath, apiPort }) => {
    fleet.apiPorts.set(configPath, apiPort);
    return { dir, logPath, dbPath, sipPort: drachtio.sipPort, configPath } as Omit<Gateway, 'child' | 'pid'>;
  });
  await provisionEchoBench(join(dir, 'kalem.toml'), NUMBER);
  return out;
}

async function setUpGateway(): Promise<Omit<Gateway, 'child' | 'pid'>> {
  const { dir, configPath, dbPath, baseToml } = benchGatewayFiles('kalem-bench-');
  const sipPort = await freePort();
  // Log level warn: at info, a line per call would make logging a large part of what is measured.
  // The rate limiter is opened up: every call here comes from one source, which is what it limits.
  writeFileSync(
    configPath,
    `${baseToml}[daemon]
max_calls = 4000
drain_timeout_ms = 2000
[sip]
listen_address = "127.0.0.1"
udp_port = ${sipPort}
tcp_port = -1
tls_port = -1
rate_limit_requests = 100000000
[media]
address = "127.0.0.1"
port_min = 40000
port_max = 49999
[api]
port = -1
[rtpengine]
mode = "off"
`,
  );
  await provisionEchoBench(configPath, NUMBER);
  return { dir, logPath: join(dir, 'daemon.log'), dbPath, sipPort };
}


async function startGateway(g: Omit<Gateway, 'child' | 'pid'>, nodeArgs: string[]): Promise<Gateway> {
  const log = openSync(g.logPath, 'a');
  const configPath = (g as { configPath?: string }).configPath ?? join(g.dir, 'kalem.toml');
  const child = spawn(process.execPath, [...nodeArgs, MAIN, '--config', configPath, 'serve'], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error('could not start the daemon');
  const gw = { ...g, child, pid: child.pid };
  const apiPort = fleet.apiPorts.get(configPath);
  if (apiPort === undefined) {
    running.daemon = child;
    await waitForSip(g.sipPort, child, NUMBER);
  } else {
    if (running.daemon === undefined) running.daemon = child;
    else fleet.others.push(gw);
    await waitForHealthySip(apiPort, child);
  }
  return gw;
}

interface CdrCounts {
  total: number;
  open: number;
  reasons: Record<string, number>;
}

/** Calls the daemon recorded, and how many it never ended ("calls left behind"). */
function cdrCounts(dbPath: string): CdrCounts {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db
      .prepare("SELECT coalesce(end_reason, '(open)') AS reason, count(*) AS n, sum(ended_at IS NULL) AS open FROM calls GROUP BY 1")
      .all() as Array<{ reason: string; n: number; open: number }>;
    const reasons: Record<string, number> = {};
    for (const r of rows) reasons[r.reason] = r.n;
    return { total: rows.reduce((s, r) => s + r.n, 0), open: rows.reduce((s, r) => s + r.open, 0), reasons };
  } finally {
    db.close();
  }
}

/** Daemon log lines at warn (pino 40) or above, from a byte offset on. */
function logProblems(logPath: string, fromByte: number): { lines: string[]; next: number } {
  const buf = existsSync(logPath) ? readFileSync(logPath) : Buffer.alloc(0);
  const lines = buf
    .subarray(fromByte)
    .toString('utf8')
    .split('\n')
    .filter((l) => {
      if (!l) return false;
      try {
        return ((JSON.parse(l) as { level?: number }).level ?? 0) >= 40;
      } catch {
        return true; // not JSON: a crash trace or similar, always worth showing
      }
    });
  return { lines, next: buf.length };
}

// ---------------------------------------------------------------------------------------------
// One SIPp step

interface StepResult {
  rate: number;
  attempted: number;
  successful: number;
  failed: number;
  /** Calls SIPp never finished (killed by `timeout`): counted as failed too. */
  unfinished: number;
  retransmissions: number;
  achievedCps: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  wallS: number;
  daemonCpuMsPerS: number;
  /** drachtio-server's own CPU (drachtio engine only). */
  drachtioCpuMsPerS: number | undefined;
  sippCpuPct: number | undefined;
  daemonMaxRssKb: number;
  load1: number;
  sippExit: number | null;
  sippErrors: string;
  cdrOpen: number;
  udpDrops: number;
  daemonSocketDrops: number | undefined;
  logProblems: string[];
}


function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function runStep(gw: Gateway, rate: number, o: Options, sippPort: number): Promise<StepResult> {
  const dir = join(gw.dir, `step-${rate}`);
  mkdirSync(dir);
  const attempted = rate * o.stepSeconds;
  const limit = o.limit || rate * 10;
  const boundS = o.stepSeconds + 40;
  const args = [
    '-k', '5', String(boundS), // SIPp's own -timeout does not always end a stuck run
    'sipp', '-sf', SCENARIO, '-t', 'u1',
    '-i', '127.0.0.1', '-p', String(sippPort), '-mi', '127.0.0.1', '-mp', String(sippPort + 2),
    '-s', NUMBER,
    '-r', String(rate), '-rp', '1000', '-m', String(attempted), '-l', String(limit), '-d', '0',
    '-recv_timeout', '5000', '-timeout', `${o.stepSeconds + 30}s`,
    '-max_recv_loops', '10000', '-max_sched_loops', '10000',
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_rtt', '-rtt_freq', '1',
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-nostdin',
    `127.0.0.1:${gw.sipPort}`,
  ];
  const daemons = [gw, ...fleet.others];
  const cpuAll = (): number => daemons.reduce((sum, d) => sum + (cpuMs(d.pid) ?? 0), 0);
  const rssMax = (): number => Math.max(...daemons.map((d) => statusKb(d.pid, 'VmRSS') ?? 0));
  const drachtioPid = fleet.drachtio?.pid;
  const dcpu0 = drachtioPid === undefined ? undefined : cpuMs(drachtioPid);
  const cpu0 = cpuAll();
  const drops0 = udpRcvbufErrors();
  const socketDrops0 = socketDrops(gw.sipPort);
  const t0 = performance.now();
  const out = openSync(join(dir, 'sipp.out'), 'w');
  const sipp = spawn('timeout', args, { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  running.sipp = sipp;
  let maxRss = rssMax();
  let sippPid: number | undefined;
  let sippCpu: number | undefined;
  let sippCpuAt = t0;
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, rssMax());
    if (sippPid === undefined && sipp.pid !== undefined) sippPid = childPid(sipp.pid);
    const c = sippPid === undefined ? undefined : cpuMs(sippPid);
    if (c !== undefined) {
      sippCpu = c;
      sippCpuAt = performance.now();
    }
  }, SAMPLE_MS);
  const [code] = (await once(sipp, 'exit')) as [number | null];
  clearInterval(sampler);
  running.sipp = undefined;
  const wallMs = performance.now() - t0;
  const cpu1 = cpuAll();
  const dcpu1 = drachtioPid === undefined ? undefined : cpuMs(drachtioPid);
  maxRss = Math.max(maxRss, rssMax());
  const udpDrops = udpRcvbufErrors() - drops0;
  const socketDrops1 = socketDrops(gw.sipPort);
  const daemonSocketDrops = socketDrops0 === undefined || socketDrops1 === undefined ? undefined : socketDrops1 - socketDrops0;

  const stats = existsSync(join(dir, 'stat.csv')) ? lastStats(join(dir, 'stat.csv')) : {};
  const num = (k: string): number => Number(stats[k] ?? 0) || 0;
  const successful = num('SuccessfulCall(C)');
  const failedBySipp = num('FailedCall(C)');
  const unfinished = Math.max(0, attempted - successful - failedBySipp);
  const rttFile = readdirSync(dir).find((f) => f.endsWith('_rtt.csv'));
  const rtts = rttFile
    ? readFileSync(join(dir, rttFile), 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.split(';'))
        .filter((f) => f[2] === 'invite')
        .map((f) => Number(f[1]))
        .filter((n) => Number.isFinite(n))
        .sort((a, b) => a - b)
    : [];

  // Let the last BYEs and CDR writes land before asking the database what is still open.
  await new Promise((r) => setTimeout(r, o.settleSeconds * 1000));
  const problems = { lines: [] as string[] };
  for (const d of daemons) {
    const p = logProblems(d.logPath, logOffsets.get(d.logPath) ?? 0);
    logOffsets.set(d.logPath, p.next);
    problems.lines.push(...p.lines);
  }
  const errorsPath = join(dir, 'errors.log');
  return {
    rate,
    attempted,
    successful,
    failed: failedBySipp + unfinished,
    unfinished,
    retransmissions: num('Retransmissions(C)'),
    achievedCps: successful / (wallMs / 1000),
    p50Ms: percentile(rtts, 50),
    p99Ms: percentile(rtts, 99),
    maxMs: rtts.at(-1),
    wallS: wallMs / 1000,
    daemonCpuMsPerS: (cpu1 - cpu0) / (wallMs / 1000),
    drachtioCpuMsPerS: dcpu0 === undefined || dcpu1 === undefined ? undefined : (dcpu1 - dcpu0) / (wallMs / 1000),
    sippCpuPct: sippCpu === undefined ? undefined : (sippCpu / (sippCpuAt - t0)) * 100,
    daemonMaxRssKb: maxRss,
    load1: loadAvg1(),
    sippExit: code,
    sippErrors: existsSync(errorsPath) ? readFileSync(errorsPath, 'utf8').split('\n').slice(0, 12).join('\n') : '',
    cdrOpen: cdrCounts(gw.dbPath).open,
    udpDrops,
    daemonSocketDrops,
    logProblems: problems.lines,
  };
}

/** How far each daemon's log has been read. */
const logOffsets = new Map<string, number>();

// ---------------------------------------------------------------------------------------------
// Report

const f0 = (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(0));
const f1 = (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(1));

function table(results: StepResult[]): string {
  const head =
    '| attempted cps | calls attempted | completed | failed | achieved cps | SIPp retrans | UDP rcvbuf drops (all / daemon SIP socket) | gateway calls open after step | INVITE→200 p50 ms | p99 ms | max ms | daemon CPU ms/s | daemon CPU % of a core | drachtio-server CPU % of a core | daemon max RSS MB | SIPp CPU % of a core | load avg 1 min |';
  const rule = `|${'---:|'.repeat(17)}`;
  const rows = results.map(
    (r) =>
      `| ${r.rate} | ${r.attempted} | ${r.successful} | ${r.failed} | ${f1(r.achievedCps)} | ${r.retransmissions} | ${r.udpDrops} / ${f0(r.daemonSocketDrops)} | ${r.cdrOpen} | ${f0(r.p50Ms)} | ${f0(r.p99Ms)} | ${f0(r.maxMs)} | ${f0(r.daemonCpuMsPerS)} | ${f0(r.daemonCpuMsPerS / 10)} | ${r.drachtioCpuMsPerS === undefined ? '–' : f0(r.drachtioCpuMsPerS / 10)} | ${f0(r.daemonMaxRssKb / 1024)} | ${f0(r.sippCpuPct)} | ${r.load1.toFixed(2)} |`,
  );
  return [head, rule, ...rows].join('\n');
}

const sustained = (r: StepResult): boolean => r.failed === 0 && r.achievedCps >= SUSTAINED_SHARE * r.rate;

// ---------------------------------------------------------------------------------------------
// Main

const running: { daemon?: ChildProcess | undefined; sipp?: ChildProcess | undefined; tempDir?: string | undefined } = {};

async function cleanUp(): Promise<void> {
  await stopProcess(running.sipp, 3000); // `timeout` passes SIGTERM on to SIPp
  running.sipp = undefined;
  await stopProcess(running.daemon, DAEMON_STOP_GRACE_MS);
  running.daemon = undefined;
  for (const d of fleet.others.splice(0)) await stopProcess(d.child, DAEMON_STOP_GRACE_MS);
  await fleet.drachtio?.stop();
  fleet.drachtio = undefined;
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
  const setUps = o.engine === 'drachtio' ? await setUpDrachtioGateways(o.gateways) : [await setUpGateway()];
  const setUp = setUps[0]!;
  if (!o.keep) running.tempDir = setUp.dir;
  process.stderr.write(
    `bench dir ${setUp.dir}; ${o.engine} engine${o.engine === 'drachtio' ? `, ${o.gateways} daemon(s) behind drachtio-server` : ''}; SIP on udp 127.0.0.1:${setUp.sipPort}; steps of ${o.stepSeconds} s at ${o.rates.join(', ')} cps\n`,
  );
  const results: StepResult[] = [];
  let gw: Gateway | undefined;
  let exitCode = 'not stopped';
  try {
    gw = await startGateway(setUp, o.daemonNodeArgs);
    for (const other of setUps.slice(1)) await startGateway(other, o.daemonNodeArgs);
    const baseRssKb = statusKb(gw.pid, 'VmRSS') ?? 0;
    process.stderr.write(`daemon pid ${gw.pid}, RSS ${(baseRssKb / 1024).toFixed(0)} MB after start\n`);
    const sippPort = await freePort();
    for (const rate of o.rates) {
      if (interrupted) break;
      if (gw.child.exitCode !== null || gw.child.signalCode !== null) {
        process.stderr.write(`daemon died (code ${gw.child.exitCode}, signal ${gw.child.signalCode}); stopping\n`);
        break;
      }
      process.stderr.write(`step ${rate} cps for ${o.stepSeconds} s … `);
      const r = await runStep(gw, rate, o, sippPort);
      results.push(r);
      process.stderr.write(
        `${r.successful} ok, ${r.failed} failed, ${f1(r.achievedCps)} cps, p99 ${f0(r.p99Ms)} ms, daemon ${f0(r.daemonCpuMsPerS / 10)} % core, load ${r.load1}\n`,
      );
      if (!sustained(r)) break;
    }
    const hwmKb = statusKb(gw.pid, 'VmHWM');
    // Calls the gateway still holds (their ACK/BYE never reached it) must end on their own:
    // Timer H (64·T1 = 32 s) then BYE. Wait for that, bounded, before calling anything a leak.
    const openAfterSteps = cdrCounts(gw.dbPath).open;
    const waitStart = performance.now();
    while (!interrupted && openAfterSteps > 0 && performance.now() - waitStart < FINAL_WAIT_MS && cdrCounts(gw.dbPath).open > 0) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    const waitedS = (performance.now() - waitStart) / 1000;
    const cdr = cdrCounts(gw.dbPath);
    const rssEndKb = statusKb(gw.pid, 'VmRSS');
    exitCode = await stopProcess(gw.child, DAEMON_STOP_GRACE_MS);
    running.daemon = undefined;
    const tail = logProblems(gw.logPath, logOffsets.get(gw.logPath) ?? 0);

    const best = results.filter(sustained).at(-1);
    const lines = [
      table(results),
      '',
      best
        ? `Highest sustained rate with zero failed calls: **${best.rate} calls/s** (p99 INVITE→200 ${f0(best.p99Ms)} ms, daemon ${f0(best.daemonCpuMsPerS / 10)} % of one core, max RSS ${f0(best.daemonMaxRssKb / 1024)} MB).`
        : 'No step completed without failed calls.',
      '',
      `Daemon: RSS ${(baseRssKb / 1024).toFixed(0)} MB after start, peak (VmHWM) ${hwmKb === undefined ? '–' : (hwmKb / 1024).toFixed(0)} MB, ${rssEndKb === undefined ? '–' : (rssEndKb / 1024).toFixed(0)} MB at the end; it ${exitCode}.`,
      `CDRs: ${cdr.total} calls recorded (${Object.entries(cdr.reasons).map(([k, v]) => `${k}: ${v}`).join(', ')}); SIPp completed ${results.reduce((s, r) => s + r.successful, 0)} and failed ${results.reduce((s, r) => s + r.failed, 0)}.`,
      openAfterSteps === 0
        ? 'No call was left open in the gateway after the last step.'
        : `${openAfterSteps} calls were still open in the gateway ${o.settleSeconds} s after the last step; ${cdr.open} still open after waiting ${waitedS.toFixed(0)} s more (Timer H is 32 s).`,
    ];
    for (const r of results) {
      if (r.failed > 0 || r.sippExit !== 0) lines.push('', `SIPp at ${r.rate} cps exited ${String(r.sippExit)}; ${r.unfinished} calls unfinished. First lines of its error log:`, '```', r.sippErrors.trim() || '(empty)', '```');
      if (r.logProblems.length > 0) lines.push('', `Daemon log at warn or above during the ${r.rate} cps step (${r.logProblems.length} lines, first 10):`, '```', ...r.logProblems.slice(0, 10), '```');
    }
    if (tail.lines.length > 0) lines.push('', `Daemon log at warn or above during shutdown (${tail.lines.length} lines, first 10):`, '```', ...tail.lines.slice(0, 10), '```');
    process.stdout.write(lines.join('\n') + '\n');
    return best ? 0 : 1;
  } finally {
    await cleanUp();
    if (o.keep) process.stderr.write(`kept ${setUp.dir}\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A bad option is the user's to fix: its message is enough. Anything else gets its stack.
    process.stderr.write(`${err instanceof TypeError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    void cleanUp().finally(() => process.exit(1));
  },
);
