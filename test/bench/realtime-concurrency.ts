/**
 * Realtime bridge at fixed concurrency: for each audio mode (pcm16, g711 pass-through) and each
 * level N, SIPp holds N calls to a realtime agent up at once for 28.8 s each
 * (sipp-scenarios/bench-uac-realtime-rtp.xml), streaming 30 ms A-law RTP all along from a pcap
 * this program writes: by default the caller talks 7.05 s (SIPp's g711a.pcap) and is silent (A-law
 * silence packets) until 14.4 s, twice; `--talk continuous` repeats the speech every 7.2 s. Calls
 * go through the daemon's managed rtpengine and the
 * daemon (a separate `kalem serve` process) to the OpenAI Realtime STAND-IN
 * (test/stand-ins/openai-realtime.ts), which runs in its own child process so that its CPU is
 * not the daemon's. The stand-in's VAD ends caller turns and answers each with the turn echoed
 * back as model audio, so audio flows both ways. A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/realtime-concurrency.js
 *     [--levels 50,100,200] [--modes pcm16,g711] [--rate 50] [--talk turns|continuous] [--keep]
 *     [--engine embedded|drachtio] [--gateways N]
 *
 * `--engine drachtio` (needs DRACHTIO_BIN, a drachtio-server binary) puts a real drachtio-server
 * on loopback in front (./drachtio-fleet.ts) with `--gateways N` daemons attached to it, one
 * database between them, each with its own managed rtpengine and its share of the media ranges;
 * SIPp calls drachtio-server, which spreads the INVITEs over the daemons. The daemon and
 * rtpengine columns then add up every daemon and every rtpengine, drachtio-server's CPU has a
 * column of its own, and the details say how many calls each daemon took.
 *
 * Measured per (mode, level): CPU of the daemon, of its rtpengine and of the stand-in
 * (utime+stime from /proc/<pid>/stat over the SIPp run) per call-second the CDRs record; peak
 * RSS minus idle RSS over N; failed calls from SIPp's statistics; the gateway's own added latency
 * up and down from the /metrics histogram kalem_realtime_added_latency_seconds (difference of
 * the bucket counts before and after the step; p50/p99 interpolated linearly inside the bucket,
 * as Prometheus' histogram_quantile does); time to first agent audio from each CDR
 * (details.realtime.timeToFirstAudioMs: the first words, asked for at answer); warnings and
 * errors in the daemon log during the step.
 *
 * Needs Debian's `sipp` (sip-tester), `rtpengine` (rtpengine-daemon), `timeout`; Linux only;
 * SIPp's play_pcap_audio uses a raw socket, so it runs as root (or with CAP_NET_RAW).
 * Internal: `--stand-in` runs this file as the stand-in child (key over IPC, never argv).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { openProvisioning } from '../../src/app/open-app.js';
import { freePort } from '../helpers/ports.js';
import { SCENARIOS } from '../helpers/sipp.js';
import { cpuMs, lastStats, machineJiffies, rtpenginePid, statusKb, stopProcess, waitForSip, maxRowid, samplePeaks, benchGatewayFiles } from './bench-process.js';
import { benchEngine, waitForHealthySip, writeFleetConfigs, type BenchEngine, type FleetDaemonFiles } from './drachtio-fleet.js';
import { DrachtioServer } from '../helpers/drachtio.js';

const SELF = fileURLToPath(import.meta.url);
const MAIN = resolve(SELF, '../../../src/main.js');
const SCENARIO = join(SCENARIOS, 'bench-uac-realtime-rtp.xml');
const SOURCE_PCAP = '/usr/share/sip-tester/g711a.pcap';
/** turns: talk 7.05 s then silence to 14.4 s, twice; continuous: talk 7.05 s in every 7.2 s. */
type Talk = 'turns' | 'continuous';
/** Packets of 30 ms in the caller's 28.8 s stream. */
const STREAM_PACKETS = 960;
const MODES = ['pcm16', 'g711'] as const;
type Mode = (typeof MODES)[number];
const NUMBERS: Record<Mode, string> = { pcm16: '+14155550200', g711: '+14155550201' };
/** Scenario call length from ACK to BYE (4 × 7.2 s of pauses). */
const HOLD_MS = 4 * 7200;
const SAMPLE_MS = 250;
const DAEMON_STOP_GRACE_MS = 40_000;
/** Calls at once over the whole set-up (its media ranges hold this many, split between daemons). */
const MAX_CALLS = 450;
/** The daemons' own RTP ports and their rtpengines' ports, above freePort's 42000-60000 so that SIPp's ports never collide with them; split evenly between the daemons of a drachtio set-up. */
const MEDIA_PORTS = { min: 60100, count: 900 };
const RTPENGINE_PORTS = { min: 61000, count: 4500 };

// ---------------------------------------------------------------------------------------------
// The stand-in child

type ToStandIn = { type: 'start'; apiKey: string } | { type: 'stats' };
type FromStandIn =
  | { type: 'listening'; port: number }
  | { type: 'stats'; connections: number; open: number; violations: number; firstViolations: string[]; segments: number; responses: number };

async function standInChild(): Promise<void> {
  const { OpenAIRealtimeStandIn } = await import('../stand-ins/openai-realtime.js');
  const send = (m: FromStandIn): void => {
    process.send?.(m);
  };
  let standIn: InstanceType<typeof OpenAIRealtimeStandIn> | undefined;
  let closedConnections = 0;
  let segments = 0;
  let responses = 0;
  // The stand-in keeps every event of every session for tests to inspect; over thousands of
  // 30 s calls that is memory this program does not need, so closed sessions are dropped and the
  // logs of open ones trimmed (their counters are what the report uses).
  const sweep = (): void => {
    if (!standIn) return;
    const list = standIn.connections;
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      if (c.received.length > 200) c.received.length = 0;
      if (c.sentEvents.length > 200) {
        responses += c.sentEvents.filter((e) => e.type === 'response.done').length;
        c.sentEvents.length = 0;
      }
      if (c.closed) {
        if (process.env['KALEM_BENCH_DEBUG'] === '1') process.stderr.write(`stand-in session ${c.index}: ${c.audio.durationMs.toFixed(0)} ms audio, segments ${JSON.stringify(c.segments)}\n`);
        segments += c.segments.length;
        responses += c.sentEvents.filter((e) => e.type === 'response.done').length;
        closedConnections++;
        list.splice(i, 1);
      }
    }
  };
  const timer = setInterval(sweep, 1000);
  process.on('message', (m: ToStandIn) => {
    void (async () => {
      if (m.type === 'start') {
        standIn = await OpenAIRealtimeStandIn.start({ apiKey: m.apiKey, defaultResponse: { kind: 'audio', source: 'echo' } });
        send({ type: 'listening', port: standIn.port });
      } else if (m.type === 'stats' && standIn) {
        sweep();
        send({
          type: 'stats',
          connections: closedConnections + standIn.connections.length,
          open: standIn.connections.length,
          violations: standIn.violations.length,
          firstViolations: standIn.violations.slice(0, 3),
          segments: segments + standIn.connections.reduce((n, c) => n + c.segments.length, 0),
          responses: responses + standIn.connections.reduce((n, c) => n + c.sentEvents.filter((e) => e.type === 'response.done').length, 0),
        });
      }
    })();
  });
  process.on('disconnect', () => {
    clearInterval(timer);
    void (standIn?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

interface StandInHandle {
  child: ChildProcess;
  pid: number;
  port: number;
  stats(): Promise<Extract<FromStandIn, { type: 'stats' }>>;
}

async function startStandIn(apiKey: string): Promise<StandInHandle> {
  const child = fork(SELF, ['--stand-in'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  running.standIn = child;
  if (child.pid === undefined) throw new Error('could not start the stand-in');
  // One exit listener for the child's life (a new one per message would pile up).
  const exited = once(child, 'exit').then(() => {
    throw new Error('the stand-in child exited');
  });
  exited.catch(() => {});
  const next = async <T extends FromStandIn['type']>(type: T): Promise<Extract<FromStandIn, { type: T }>> => {
    for (;;) {
      const [m] = (await Promise.race([once(child, 'message'), exited])) as [FromStandIn];
      if (m.type === type) return m as Extract<FromStandIn, { type: T }>;
    }
  };
  const listening = next('listening');
  child.send({ type: 'start', apiKey } satisfies ToStandIn);
  const { port } = await listening;
  return {
    child,
    pid: child.pid,
    port,
    stats: async () => {
      const s = next('stats');
      child.send({ type: 'stats' } satisfies ToStandIn);
      return s;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The caller's stream

/**
 * Writes the 28.8 s caller stream as a pcap: g711a.pcap's packets (Ethernet/IPv4/UDP/RTP, 30 ms
 * of A-law each) for speech and copies of them with A-law silence (0xd5) for pauses, one every
 * 30 ms, with the RTP sequence number and timestamp running on throughout. Replaying
 * g711a.pcap itself would repeat its sequence numbers, and the gateway drops those as duplicates.
 */
function writeCallerPcap(path: string, talk: Talk): void {
  const src = readFileSync(SOURCE_PCAP);
  if (src.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${SOURCE_PCAP}: not a little-endian microsecond pcap`);
  const packets: Buffer[] = [];
  for (let off = 24; off + 16 <= src.length; ) {
    const incl = src.readUInt32LE(off + 8);
    packets.push(src.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  const first = packets[0];
  if (first === undefined) throw new Error(`${SOURCE_PCAP}: no packets`);
  const RTP = 14 + 20 + 8; // Ethernet, IPv4 without options, UDP
  const samples = first.length - RTP - 12;
  const seq0 = first.readUInt16BE(RTP + 2);
  const ts0 = first.readUInt32BE(RTP + 4);
  const period = talk === 'turns' ? 480 : 240;
  const out: Buffer[] = [src.subarray(0, 24)];
  for (let k = 0; k < STREAM_PACKETS; k++) {
    const inPeriod = k % period;
    const speech = inPeriod < packets.length;
    const p = Buffer.from(speech ? packets[inPeriod]! : first);
    if (!speech) p.fill(0xd5, RTP + 12);
    p.writeUInt16BE((seq0 + k) & 0xffff, RTP + 2);
    p.writeUInt32BE((ts0 + k * samples) >>> 0, RTP + 4);
    p[RTP + 1] = (p[RTP + 1]! & 0x7f) | (k === 0 ? 0x80 : 0); // marker on the first packet only
    p.writeUInt16BE(0, 14 + 20 + 6); // UDP checksum: none (SIPp rewrites the ports)
    const rec = Buffer.alloc(16);
    const us = k * 30_000;
    rec.writeUInt32LE(Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    out.push(rec, p);
  }
  writeFileSync(path, Buffer.concat(out));
}

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  levels: number[];
  modes: Mode[];
  rate: number;
  talk: Talk;
  keep: boolean;
  engine: BenchEngine;
  /** Daemons attached to drachtio-server (drachtio engine only). */
  gateways: number;
}

function positiveInt(name: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) throw new TypeError(`${name} needs a whole number ≥ 1, got ${String(value)}`);
  return Number(value);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { levels: [50, 100, 200], modes: [...MODES], rate: 50, talk: 'turns', keep: false, engine: 'embedded', gateways: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--levels':
        o.levels = (next() ?? '').split(',').map((s) => positiveInt(a, s.trim()));
        break;
      case '--modes':
        o.modes = (next() ?? '').split(',').map((s) => {
          if (!(MODES as readonly string[]).includes(s.trim())) throw new TypeError(`--modes takes ${MODES.join(', ')}; got ${s}`);
          return s.trim() as Mode;
        });
        break;
      case '--rate':
        o.rate = positiveInt(a, next());
        break;
      case '--talk': {
        const v = next();
        if (v !== 'turns' && v !== 'continuous') throw new TypeError(`--talk takes turns or continuous, got ${String(v)}`);
        o.talk = v;
        break;
      }
      case '--keep':
        o.keep = true;
        break;
      case '--engine':
        o.engine = benchEngine(next());
        break;
      case '--gateways':
        o.gateways = positiveInt(a, next());
        break;
      case '--help':
        process.stdout.write(readFileSync(SELF, 'utf8').split('*/')[0] + '*/\n');
        process.exit(0);
        break;
      default:
        throw new TypeError(`unknown option ${String(a)} (see --help)`);
    }
  }
  if (o.levels.length === 0 || o.levels.length > 20 || o.levels.some((n) => n > MAX_CALLS)) throw new TypeError(`1 to 20 levels of at most ${MAX_CALLS} calls (daemon.max_calls)`);
  if (o.modes.length === 0) throw new TypeError('--modes needs at least one mode');
  if (o.gateways > 1 && o.engine !== 'drachtio') throw new TypeError('--gateways needs --engine drachtio (only drachtio-server spreads calls over daemons)');
  if (o.gateways > 4) throw new TypeError('--gateways: at most 4 (the media ranges are split between them)');
  if (o.engine === 'drachtio' && !process.env['DRACHTIO_BIN']) throw new TypeError('--engine drachtio needs DRACHTIO_BIN (a drachtio-server binary)');
  return o;
}

// ---------------------------------------------------------------------------------------------
// The gateway

/** The gateway side as written to disk: where SIPp calls, the database, and each daemon's files. */
interface SetUp {
  dir: string;
  dbPath: string;
  /** The SIP port SIPp calls: the daemon's own (embedded) or drachtio-server's. */
  sipPort: number;
  daemons: FleetDaemonFiles[];
}

/** A started daemon and its managed rtpengine. */
interface RunningDaemon extends FleetDaemonFiles {
  child: ChildProcess;
  pid: number;
  rtpPid: number;
}

/** What one step measures: the daemons, their rtpengines, drachtio-server's process if any. */
interface Fleet {
  setUp: SetUp;
  daemons: RunningDaemon[];
  drachtioPid: number | undefined;
}

function daemonSections(realtimeUrl: string, maxCalls: number, media: { min: number; count: number }, rtp: { min: number; count: number }): string {
  return `[daemon]
max_calls = ${maxCalls}
drain_timeout_ms = 2000
[media]
address = "127.0.0.1"
port_min = ${media.min}
port_max = ${media.min + media.count - 1}
[rtpengine]
mode = "managed"
port_min = ${rtp.min}
port_max = ${rtp.min + rtp.count - 1}
[realtime]
base_url = "${realtimeUrl}"
connect_timeout_ms = 5000
`;
}

async function setUpGateways(standInPort: number, apiKey: string, o: Options): Promise<SetUp> {
  const { dir, configPath, dbPath, baseToml } = benchGatewayFiles('kalem-realtime-bench-');
  running.tempDir = dir;
  const realtimeUrl = `ws://127.0.0.1:${standInPort}/v1/realtime`;
  let setUp: SetUp;
  if (o.engine === 'drachtio') {
    const drachtio = await DrachtioServer.start({ tls: false });
    running.drachtio = drachtio;
    // Each daemon gets an equal slice of both ranges, and as many calls as its slice holds.
    const media = Math.floor(MEDIA_PORTS.count / o.gateways);
    const rtp = Math.floor(RTPENGINE_PORTS.count / o.gateways);
    const daemons = await writeFleetConfigs(drachtio, dir, baseToml, o.gateways, (i) =>
      daemonSections(realtimeUrl, Math.floor(media / 2), { min: MEDIA_PORTS.min + i * media, count: media }, { min: RTPENGINE_PORTS.min + i * rtp, count: rtp }),
    );
    setUp = { dir, dbPath, sipPort: drachtio.sipPort, daemons };
  } else {
    const sipPort = await freePort();
    let apiPort = await freePort();
    while (apiPort === sipPort || apiPort === sipPort + 2) apiPort = await freePort();
    writeFileSync(
      configPath,
      `${baseToml}[sip]
listen_address = "127.0.0.1"
udp_port = ${sipPort}
tcp_port = -1
tls_port = -1
rate_limit_requests = 100000000
[api]
port = ${apiPort}
${daemonSections(realtimeUrl, MAX_CALLS, MEDIA_PORTS, RTPENGINE_PORTS)}`,
    );
    setUp = { dir, dbPath, sipPort, daemons: [{ configPath, logPath: join(dir, 'daemon.log'), apiPort }] };
  }
  const app = await openProvisioning({ configPath: setUp.daemons[0]!.configPath, logDestination: { write: (s: string) => process.stderr.write(s) } });
  try {
    const p = app.provisioning;
    p.createAccount({ name: 'bench' });
    p.addTrunk('bench', { name: 'loopback', cidrs: ['127.0.0.1/32'] });
    for (const mode of MODES) {
      p.createAgent('bench', {
        name: `rt-${mode}`,
        kind: 'realtime',
        audioMode: mode,
        instructions: 'Benchmark agent.',
        // Asked for at answer: the stand-in answers with a tone, which times first agent audio.
        firstWords: 'Hello.',
        tools: { endCall: false, transferTarget: null, webhooks: [] },
      });
      p.addNumbers('bench', `rt-${mode}`, [NUMBERS[mode]]);
    }
    p.setSecret('bench', 'openai', Buffer.from(apiKey));
  } finally {
    app.close();
  }
  return setUp;
}

/**
 * Starts every daemon of the set-up (a fresh process per mode, so that each mode's RSS per call
 * is measured from its own idle) and waits until each takes calls and has its rtpengine.
 */
async function startDaemons(setUp: SetUp, o: Options, mode: Mode): Promise<RunningDaemon[]> {
  // BENCH_DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the daemon.
  const nodeArgs = (process.env['BENCH_DAEMON_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const out: RunningDaemon[] = [];
  for (const files of setUp.daemons) {
    const log = openSync(files.logPath, 'a');
    const child = spawn(process.execPath, [...nodeArgs, MAIN, '--config', files.configPath, 'serve'], { stdio: ['ignore', log, log] });
    closeSync(log);
    running.daemons.push(child);
    if (child.pid === undefined) throw new Error('could not start the daemon');
    if (o.engine === 'drachtio') await waitForHealthySip(files.apiPort, child);
    else await waitForSip(setUp.sipPort, child, NUMBERS[mode]);
    let rtpPid: number | undefined;
    for (let i = 0; i < 100 && rtpPid === undefined; i++) {
      rtpPid = rtpenginePid(child.pid);
      if (rtpPid === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    if (rtpPid === undefined) throw new Error('no rtpengine child of the daemon found');
    out.push({ ...files, child, pid: child.pid, rtpPid });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// /metrics: histogram buckets and counters

interface Histo {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

type Sample = { name: string; labels: Record<string, string>; value: number };

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(apiPort: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${apiPort}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** A histogram from the samples of one or several daemons (the same bucket of each is added up). */
function histogram(samples: Sample[], name: string, match: Record<string, string>): Histo {
  const hit = (s: Sample): boolean => Object.entries(match).every(([k, v]) => s.labels[k] === v);
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !hit(s)) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const total = (suffix: string): number => samples.filter((s) => s.name === `${name}${suffix}` && hit(s)).reduce((n, s) => n + s.value, 0);
  return { buckets, sum: total('_sum'), count: total('_count') };
}

/** The largest value of a gauge over the daemons' samples (NaN if none has it). */
function gaugeMax(samples: Sample[], name: string): number {
  const values = samples.filter((s) => s.name === name).map((s) => s.value);
  return values.length === 0 ? NaN : Math.max(...values);
}

function histoDelta(after: Histo, before: Histo): Histo {
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (before.buckets.find((x) => x.le === b.le)?.count ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The q-quantile of a histogram, interpolated linearly inside its bucket (lower edge of the first
 * bucket 0), as Prometheus' histogram_quantile does. In the +Inf bucket: the highest finite bound,
 * marked as a lower bound by the caller through `overflow`.
 */
function quantile(h: Histo, q: number): { value: number; overflow: boolean } {
  if (h.count <= 0) return { value: NaN, overflow: false };
  const rank = q * h.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return { value: prevLe, overflow: true };
      const inBucket = b.count - prevCount;
      return { value: inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le, overflow: false };
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return { value: prevLe, overflow: true };
}

function counterSum(samples: Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[s.labels[label] ?? ''] = (out[s.labels[label] ?? ''] ?? 0) + s.value;
  return out;
}

function counterDelta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// CDRs

interface CdrSummary {
  calls: number;
  open: number;
  callSeconds: number;
  endReasons: Record<string, number>;
  audioFormats: Record<string, number>;
  framesUp: number;
  framesDown: number;
  reconnects: number;
  ttfa: number[];
}


function stepCdrs(dbPath: string, after: number): CdrSummary {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // Every call after `after` is the step's: SIPp's (nothing else calls during a step).
    const rows = db.prepare('SELECT answered_at, ended_at, end_reason, details FROM calls WHERE rowid > ?').all(after) as Array<{
      answered_at: string | null;
      ended_at: string | null;
      end_reason: string | null;
      details: string;
    }>;
    const s: CdrSummary = { calls: 0, open: 0, callSeconds: 0, endReasons: {}, audioFormats: {}, framesUp: 0, framesDown: 0, reconnects: 0, ttfa: [] };
    for (const r of rows) {
      s.calls++;
      if (!r.ended_at) s.open++;
      if (r.answered_at && r.ended_at) s.callSeconds += (Date.parse(r.ended_at) - Date.parse(r.answered_at)) / 1000;
      const reason = r.end_reason ?? '(open)';
      s.endReasons[reason] = (s.endReasons[reason] ?? 0) + 1;
      const rt = (JSON.parse(r.details) as { realtime?: { audioFormat?: string; framesUp?: number; framesDown?: number; reconnects?: number; timeToFirstAudioMs?: number | null } }).realtime;
      if (!rt) continue;
      const fmt = rt.audioFormat ?? '?';
      s.audioFormats[fmt] = (s.audioFormats[fmt] ?? 0) + 1;
      s.framesUp += rt.framesUp ?? 0;
      s.framesDown += rt.framesDown ?? 0;
      s.reconnects += rt.reconnects ?? 0;
      if (typeof rt.timeToFirstAudioMs === 'number') s.ttfa.push(rt.timeToFirstAudioMs);
    }
    return s;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The daemon log: warnings and errors written during a step

function logSince(path: string, offset: number): { lines: number; samples: string[]; end: number } {
  const end = existsSync(path) ? statSync(path).size : 0;
  if (end <= offset) return { lines: 0, samples: [], end };
  const text = readFileSync(path).subarray(offset, end).toString('utf8');
  const bad = text.split('\n').filter((l) => {
    const m = /"level":(\d+)/.exec(l);
    return m !== null && Number(m[1]) >= 40;
  });
  // One sample line per distinct message.
  const seen = new Map<string, string>();
  for (const l of bad) {
    const msg = /"msg":"((?:[^"\\]|\\.)*)"/.exec(l)?.[1] ?? l.slice(0, 200);
    if (!seen.has(msg)) seen.set(msg, l.length > 600 ? `${l.slice(0, 600)}…` : l);
  }
  return { lines: bad.length, samples: [...seen.values()].slice(0, 8), end };
}

// ---------------------------------------------------------------------------------------------
// One step

interface StepResult {
  mode: Mode;
  n: number;
  successful: number;
  failed: number;
  cdr: CdrSummary;
  daemonCpuMs: number;
  rtpCpuMs: number;
  standInCpuMs: number;
  /** drachtio-server's CPU (drachtio engine only). */
  drachtioCpuMs: number | undefined;
  /** Calls each daemon counted (kalem_calls_total), in daemon order. */
  callsPerDaemon: number[];
  daemonRssPerCallKb: number;
  rtpRssPerCallKb: number;
  daemonPeakRssKb: number;
  up: Histo;
  down: Histo;
  realtimeErrors: Record<string, number>;
  /** The daemon's event-loop delay p99 and max over the step (prom-client resets it at each scrape), ms. */
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  callOutcomes: Record<string, number>;
  standIn: { connections: number; violations: number; firstViolations: string[]; segments: number; responses: number };
  log: { lines: number; samples: string[] };
  machineBusyPct: number;
  load1Max: number;
  wallS: number;
  sippExit: number | null;
  /** The daemon's CPU with no calls (set by main after the step). */
  idleDaemonMsPerS: number;
}

const LAT = 'kalem_realtime_added_latency_seconds';

/** Each daemon's /metrics, one list per daemon. */
async function scrapeEach(fleet: Fleet): Promise<Sample[][]> {
  return Promise.all(fleet.daemons.map((d) => scrape(d.apiPort)));
}

const sumOf = (values: Array<number | undefined>): number => values.reduce<number>((n, v) => n + (v ?? 0), 0);

/** How far each daemon's log has been read: warnings of a step are those written after it. */
const logOffsets = new Map<string, number>();

async function runStep(fleet: Fleet, standIn: StandInHandle, idle: { daemonKb: number; rtpKb: number }, mode: Mode, n: number, o: Options, sippPort: number, label: string): Promise<Omit<StepResult, 'idleDaemonMsPerS'>> {
  const { setUp } = fleet;
  const dir = join(setUp.dir, `${label}-${mode}-${n}`);
  mkdirSync(dir);
  const rampS = n / o.rate;
  const boundS = Math.ceil(rampS + HOLD_MS / 1000 + 60);
  const args = [
    '-k', '5', String(boundS),
    'sipp', '-sf', SCENARIO, '-t', 'u1',
    '-i', '127.0.0.1', '-p', String(sippPort), '-mi', '127.0.0.1', '-mp', String(sippPort + 2),
    '-s', NUMBERS[mode],
    '-r', String(o.rate), '-rp', '1000', '-m', String(n), '-l', String(n), '-d', '0',
    '-recv_timeout', '10000', '-timeout', `${boundS - 10}s`,
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-nostdin',
    `127.0.0.1:${setUp.sipPort}`,
  ];
  const daemonPids = fleet.daemons.map((d) => d.pid);
  const rtpPids = fleet.daemons.map((d) => d.rtpPid);
  const rowid0 = maxRowid(setUp.dbPath);
  const stand0 = await standIn.stats();
  const each0 = await scrapeEach(fleet);
  const metrics0 = each0.flat();
  const cpuD0 = sumOf(daemonPids.map(cpuMs));
  const cpuR0 = sumOf(rtpPids.map(cpuMs));
  const cpuX0 = fleet.drachtioPid === undefined ? undefined : cpuMs(fleet.drachtioPid);
  const cpuS0 = cpuMs(standIn.pid) ?? 0;
  const m0 = machineJiffies();
  const t0 = performance.now();
  const out = openSync(join(dir, 'sipp.out'), 'w');
  const sipp = spawn('timeout', args, { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  running.sipp = sipp;
  const sampler = samplePeaks(daemonPids, rtpPids, SAMPLE_MS);
  const [code] = (await once(sipp, 'exit')) as [number | null];
  const { daemonKb: dPeak, rtpKb: rPeak, load1Max } = sampler.stop();
  running.sipp = undefined;
  const wallS = (performance.now() - t0) / 1000;
  const cpuD = sumOf(daemonPids.map(cpuMs)) - cpuD0;
  const cpuR = sumOf(rtpPids.map(cpuMs)) - cpuR0;
  const cpuX1 = fleet.drachtioPid === undefined ? undefined : cpuMs(fleet.drachtioPid);
  const cpuS = (cpuMs(standIn.pid) ?? cpuS0) - cpuS0;
  const m1 = machineJiffies();
  await new Promise((r) => setTimeout(r, 3000)); // last BYEs, CDR writes, sessions closing
  const each1 = await scrapeEach(fleet);
  const metrics1 = each1.flat();
  const stand1 = await standIn.stats();
  const stats = existsSync(join(dir, 'stat.csv')) ? lastStats(join(dir, 'stat.csv')) : {};
  const successful = Number(stats['SuccessfulCall(C)'] ?? 0) || 0;
  const log = { lines: 0, samples: [] as string[] };
  for (const d of fleet.daemons) {
    const l = logSince(d.logPath, logOffsets.get(d.logPath) ?? 0);
    logOffsets.set(d.logPath, l.end);
    log.lines += l.lines;
    log.samples.push(...l.samples);
  }
  const callsCounted = (samples: Sample[]): number => sumOf(Object.values(counterSum(samples, 'kalem_calls_total', 'outcome')));
  return {
    mode,
    n,
    successful,
    failed: n - successful,
    cdr: stepCdrs(setUp.dbPath, rowid0),
    daemonCpuMs: cpuD,
    rtpCpuMs: cpuR,
    standInCpuMs: cpuS,
    drachtioCpuMs: cpuX0 === undefined || cpuX1 === undefined ? undefined : cpuX1 - cpuX0,
    callsPerDaemon: each1.map((m, i) => callsCounted(m) - callsCounted(each0[i]!)),
    daemonRssPerCallKb: (dPeak - idle.daemonKb) / n,
    rtpRssPerCallKb: (rPeak - idle.rtpKb) / n,
    daemonPeakRssKb: dPeak,
    up: histoDelta(histogram(metrics1, LAT, { direction: 'up' }), histogram(metrics0, LAT, { direction: 'up' })),
    down: histoDelta(histogram(metrics1, LAT, { direction: 'down' }), histogram(metrics0, LAT, { direction: 'down' })),
    realtimeErrors: counterDelta(counterSum(metrics1, 'kalem_realtime_errors_total', 'kind'), counterSum(metrics0, 'kalem_realtime_errors_total', 'kind')),
    loopLagP99Ms: gaugeMax(metrics1, 'kalem_nodejs_eventloop_lag_p99_seconds') * 1000,
    loopLagMaxMs: gaugeMax(metrics1, 'kalem_nodejs_eventloop_lag_max_seconds') * 1000,
    callOutcomes: counterDelta(counterSum(metrics1, 'kalem_calls_total', 'outcome'), counterSum(metrics0, 'kalem_calls_total', 'outcome')),
    standIn: {
      connections: stand1.connections - stand0.connections,
      violations: stand1.violations - stand0.violations,
      firstViolations: stand1.firstViolations,
      segments: stand1.segments - stand0.segments,
      responses: stand1.responses - stand0.responses,
    },
    log: { lines: log.lines, samples: log.samples.slice(0, 8) },
    machineBusyPct: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
    load1Max,
    wallS,
    sippExit: code,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function q(h: Histo, p: number): string {
  const r = quantile(h, p);
  return `${r.overflow ? '> ' : ''}${f(r.value * 1000, 2)}`;
}

function table(rs: StepResult[]): string {
  const head =
    '| mode | concurrent calls | completed / failed | call-s (CDR) | daemon CPU ms per call-s | daemon, idle subtracted | rtpengine CPU ms per call-s | stand-in CPU ms per call-s | drachtio-server CPU ms per call-s | daemon RSS per call KB | rtpengine RSS per call KB | added latency up p50 / p99 ms | up mean ms (n) | added latency down p50 / p99 ms | down mean ms (n) | first agent audio p50 / p99 / max ms | frames up / down (CDR) | stand-in turns / responses | all CPUs busy % | load avg 1 min (max) |';
  const rule = `|---|${'---:|'.repeat(19)}`;
  const rows = rs.map((r) => {
    const tt = [...r.cdr.ttfa].sort((a, b) => a - b);
    return `| ${r.mode} | ${r.n} | ${r.successful} / ${r.failed} | ${f(r.cdr.callSeconds)} | ${f(r.daemonCpuMs / r.cdr.callSeconds, 2)} | ${f((r.daemonCpuMs - r.idleDaemonMsPerS * r.wallS) / r.cdr.callSeconds, 2)} | ${f(r.rtpCpuMs / r.cdr.callSeconds, 2)} | ${f(r.standInCpuMs / r.cdr.callSeconds, 2)} | ${r.drachtioCpuMs === undefined ? '–' : f(r.drachtioCpuMs / r.cdr.callSeconds, 2)} | ${f(r.daemonRssPerCallKb)} | ${f(r.rtpRssPerCallKb)} | ${q(r.up, 0.5)} / ${q(r.up, 0.99)} | ${f((r.up.sum / r.up.count) * 1000, 3)} (${r.up.count}) | ${q(r.down, 0.5)} / ${q(r.down, 0.99)} | ${f((r.down.sum / r.down.count) * 1000, 3)} (${r.down.count}) | ${f(pct(tt, 50))} / ${f(pct(tt, 99))} / ${f(tt.at(-1) ?? NaN)} | ${r.cdr.framesUp} / ${r.cdr.framesDown} | ${r.standIn.segments} / ${r.standIn.responses} | ${f(r.machineBusyPct)} | ${r.load1Max.toFixed(2)} |`;
  });
  return [head, rule, ...rows].join('\n');
}

function details(rs: StepResult[]): string {
  const j = (o: Record<string, number>): string => (Object.keys(o).length === 0 ? 'none' : Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', '));
  const lines: string[] = [];
  for (const r of rs) {
    lines.push(
      `- ${r.mode} ${r.n}: SIPp exit ${String(r.sippExit)}, wall ${f(r.wallS)} s; CDRs ${r.cdr.calls} (open ${r.cdr.open}), end reasons: ${j(r.cdr.endReasons)}; audio formats: ${j(r.cdr.audioFormats)}; reconnects ${r.cdr.reconnects}; ` +
        `calls_total: ${j(r.callOutcomes)}; realtime_errors_total: ${j(r.realtimeErrors)}; stand-in sessions ${r.standIn.connections}, violations ${r.standIn.violations}${r.standIn.violations > 0 ? ` (${r.standIn.firstViolations.join(' | ')})` : ''}; ` +
        `${r.callsPerDaemon.length > 1 ? `calls per daemon ${r.callsPerDaemon.join(' / ')}; ` : ''}daemon event-loop delay p99 ${f(r.loopLagP99Ms, 1)} ms, max ${f(r.loopLagMaxMs, 1)} ms (worst daemon); daemon peak RSS ${f(r.daemonPeakRssKb / 1024, 1)} MB (all daemons); daemon log lines at warn or above: ${r.log.lines}`,
    );
    for (const s of r.log.samples) lines.push(`    ${s}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

const running: {
  daemons: ChildProcess[];
  drachtio?: DrachtioServer | undefined;
  sipp?: ChildProcess | undefined;
  standIn?: ChildProcess | undefined;
  tempDir?: string | undefined;
  keep?: boolean;
} = { daemons: [] };

/** Stops the daemons (each stops its rtpengine, and pdeathsig backs that up). */
async function stopDaemons(): Promise<string[]> {
  const said = [];
  for (const d of running.daemons.splice(0)) said.push(await stopProcess(d, DAEMON_STOP_GRACE_MS));
  return said;
}

async function cleanUp(): Promise<void> {
  await stopProcess(running.sipp, 3000);
  running.sipp = undefined;
  await stopDaemons();
  await running.drachtio?.stop();
  running.drachtio = undefined;
  if (running.standIn?.connected) running.standIn.disconnect();
  await stopProcess(running.standIn, 3000);
  running.standIn = undefined;
  if (running.tempDir && !running.keep) rmSync(running.tempDir, { recursive: true, force: true });
  running.tempDir = undefined;
}

let interrupted = false;

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  running.keep = o.keep;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`\n${sig}: stopping SIPp, the daemons and the stand-in\n`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  const apiKey = `sk-bench-${randomBytes(16).toString('hex')}`;
  const standIn = await startStandIn(apiKey);
  const setUp = await setUpGateways(standIn.port, apiKey, o);
  writeCallerPcap(join(setUp.dir, 'caller.pcap'), o.talk); // the scenario plays ../caller.pcap from each step's directory
  const engine = o.engine === 'drachtio' ? `drachtio engine, ${o.gateways} daemon(s) behind drachtio-server` : 'embedded engine';
  process.stderr.write(`bench dir ${setUp.dir}; ${engine}; caller talks ${o.talk}; modes ${o.modes.join(', ')}; levels ${o.levels.join(', ')} concurrent calls, ramp ${o.rate} calls/s, hold ${HOLD_MS / 1000} s\n`);
  const results: StepResult[] = [];
  const notes: string[] = [`${engine}.`];
  try {
    const sippPort = await freePort();
    for (const mode of o.modes) {
      if (interrupted) break;
      const daemons = await startDaemons(setUp, o, mode);
      const fleet: Fleet = { setUp, daemons, drachtioPid: running.drachtio?.pid };
      // Warm-up: a few calls per daemon, so that idle RSS is measured after first-call allocations (JIT, sockets).
      const warm = 5 * daemons.length;
      const w = await runStep(fleet, standIn, { daemonKb: 0, rtpKb: 0 }, mode, warm, o, sippPort, 'warm-up');
      process.stderr.write(`warm-up ${mode}: ${w.successful} of ${warm} ok, ${w.standIn.responses} responses, log lines ${w.log.lines}\n`);
      if (w.successful === 0) throw new Error(`warm-up calls to the ${mode} agent all failed; see ${setUp.dir} (--keep)`);
      await new Promise((r) => setTimeout(r, 2000));
      const idle = { daemonKb: sumOf(daemons.map((d) => statusKb(d.pid, 'VmRSS'))), rtpKb: sumOf(daemons.map((d) => statusKb(d.rtpPid, 'VmRSS'))) };
      const idleD0 = sumOf(daemons.map((d) => cpuMs(d.pid)));
      await new Promise((r) => setTimeout(r, 5000));
      const idleDaemon = (sumOf(daemons.map((d) => cpuMs(d.pid))) - idleD0) / 5;
      const idleNote = `${mode} daemon${daemons.length > 1 ? 's' : ''} idle (no calls, 5 s, after ${warm} warm-up calls): ${f(idleDaemon, 1)} ms/s CPU, RSS ${f(idle.daemonKb / 1024, 1)} MB; rtpengine RSS ${f(idle.rtpKb / 1024, 1)} MB; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`;
      notes.push(idleNote);
      process.stderr.write(`${idleNote}\n`);
      for (const n of o.levels) {
        if (interrupted) break;
        for (const d of daemons) {
          if (d.child.exitCode !== null || d.child.signalCode !== null) throw new Error(`daemon died (code ${d.child.exitCode}, signal ${d.child.signalCode})`);
          if (rtpenginePid(d.pid) !== d.rtpPid) throw new Error('rtpengine was restarted or is gone');
        }
        process.stderr.write(`${mode} ${n} calls … `);
        const r = await runStep(fleet, standIn, idle, mode, n, o, sippPort, `step-${results.length + 1}`);
        results.push({ ...r, idleDaemonMsPerS: idleDaemon });
        process.stderr.write(
          `${r.successful} ok, ${r.failed} failed, daemon ${f(r.daemonCpuMs / r.cdr.callSeconds, 2)} ms/call-s, up p99 ${q(r.up, 0.99)} ms, down p99 ${q(r.down, 0.99)} ms, log lines ${r.log.lines}, load ${r.load1Max}\n`,
        );
        await new Promise((res) => setTimeout(res, 2000));
      }
      notes.push(`${mode} daemon${daemons.length > 1 ? 's' : ''}: ${(await stopDaemons()).join('; ')}.`);
    }
    process.stdout.write([table(results), '', ...notes, details(results)].join('\n') + '\n');
    return results.length === o.modes.length * o.levels.length && results.every((r) => r.failed === 0) ? 0 : 1;
  } finally {
    await cleanUp();
    if (o.keep) process.stderr.write(`kept ${setUp.dir}\n`);
  }
}

if (process.argv.includes('--stand-in')) {
  void standInChild();
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof TypeError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      void cleanUp().finally(() => process.exit(1));
    },
  );
}
