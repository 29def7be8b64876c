/**
 * Process and SIPp plumbing shared by the benchmark programs in this folder: /proc readers
 * (Linux only; CPU times come in clock ticks, CLK_TCK), waiting for the daemon to answer SIP,
 * stopping a child process, and reading SIPp's statistics file.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { createMasterKeyFile } from '../../src/crypto/master-key.js';
import { openProvisioning } from '../../src/app/open-app.js';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads) in ms, or undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // fields 14 and 15
  } catch {
    return undefined;
  }
}

/** A kB field of /proc/<pid>/status (VmRSS, VmHWM), or undefined once the process is gone. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export const loadAvg1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Resolves once the daemon answers an OPTIONS on its UDP port (bounded: 100 tries, 20 s). */
export async function waitForSip(port: number, child: ChildProcess, number: string): Promise<void> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const local = sock.address().port;
  try {
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`daemon exited with code ${child.exitCode} before listening`);
      const msg = [
        `OPTIONS sip:${number}@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-bench-${i};rport`,
        `From: <sip:bench@127.0.0.1:${local}>;tag=b${i}`,
        `To: <sip:${number}@127.0.0.1:${port}>`,
        `Call-ID: bench-ready-${i}-${local}@127.0.0.1`,
        'CSeq: 1 OPTIONS',
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      sock.send(msg, port, '127.0.0.1');
      const got = await Promise.race([
        once(sock, 'message').then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 200)),
      ]);
      if (got) return;
    }
    throw new Error('daemon did not answer OPTIONS within 20 s');
  } finally {
    sock.close();
  }
}

/** SIGTERM (the daemon drains for at most drain_timeout_ms), then SIGKILL after graceMs. */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 10_000): Promise<string> {
  if (!child) return 'not started';
  if (child.exitCode !== null || child.signalCode !== null) return `had already exited (code ${child.exitCode}, signal ${child.signalCode})`;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const t0 = performance.now();
  child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, graceMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  const after = `${((performance.now() - t0) / 1000).toFixed(1)} s after SIGTERM`;
  return killed ? `did not exit within ${graceMs / 1000} s of SIGTERM: SIGKILLed` : `exited with code ${code ?? `signal ${signal}`} ${after}`;
}

/** SIPp's statistics CSV: the last row, by column name. */
export function lastStats(path: string): Record<string, string> {
  const rows = readFileSync(path, 'utf8').trim().split('\n');
  const head = (rows[0] ?? '').split(';');
  const last = (rows.at(-1) ?? '').split(';');
  return Object.fromEntries(head.map((h, i) => [h, last[i] ?? '']));
}

/** Busy and total jiffies of all CPUs (/proc/stat): the machine's load during a step. */
export function machineJiffies(): { busy: number; total: number } {
  const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/** The daemon's managed rtpengine: a child whose command name is rtpengine (setpriv execs it in place). */
export function rtpenginePid(daemonPid: number): number | undefined {
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${daemonPid}/task`);
  } catch {
    return undefined;
  }
  for (const t of tasks) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${daemonPid}/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean);
    } catch {
      continue;
    }
    for (const c of children) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'rtpengine') return Number(c);
      } catch {
        // gone meanwhile
      }
    }
  }
  return undefined;
}

/** The highest rowid of the calls table: CDRs written after it belong to the next step. */
export function maxRowid(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT coalesce(max(rowid), 0) AS m FROM calls').get() as { m: number }).m;
  } finally {
    db.close();
  }
}

/**
 * Samples the peak RSS of the daemon and its rtpengine and the highest 1-minute load average
 * every `everyMs` while a step runs; `stop()` ends it and returns the peaks. Given several daemons
 * (and their rtpengines), the peak is that of their sum.
 */
export function samplePeaks(daemonPids: number | number[], rtpPids: number | number[], everyMs: number): { stop(): { daemonKb: number; rtpKb: number; load1Max: number } } {
  const peaks = { daemonKb: 0, rtpKb: 0, load1Max: 0 };
  const rss = (pids: number | number[]): number => [pids].flat().reduce((kb, pid) => kb + (statusKb(pid, 'VmRSS') ?? 0), 0);
  const timer = setInterval(() => {
    peaks.daemonKb = Math.max(peaks.daemonKb, rss(daemonPids));
    peaks.rtpKb = Math.max(peaks.rtpKb, rss(rtpPids));
    peaks.load1Max = Math.max(peaks.load1Max, loadAvg1());
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { ...peaks };
    },
  };
}

/**
 * A benchmark gateway's files in a new temp dir: the master key, and the first sections of its
 * config (store, keys, log at warn: at info a line per call would be part of what is measured).
 * The caller appends its own sections to `baseToml` and writes `configPath`.
 */
export function benchGatewayFiles(prefix: string): { dir: string; configPath: string; dbPath: string; baseToml: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const configPath = join(dir, 'kalem.toml');
  const dbPath = join(dir, 'kalem.db');
  createMasterKeyFile(join(dir, 'master.key'));
  const baseToml = `[store]
path = ${JSON.stringify(dbPath)}
[keys]
master_key_file = ${JSON.stringify(join(dir, 'master.key'))}
[log]
level = "warn"
`;
  return { dir, configPath, dbPath, baseToml };
}

/** A benchmark's gateway daemon: its files, SIP port and process. */
export interface BenchGateway {
  dir: string;
  logPath: string;
  dbPath: string;
  sipPort: number;
  child: ChildProcess;
  pid: number;
}

/** The echo benchmarks' tenant: account `bench`, an echo agent answering `number`, a loopback trunk. */
export async function provisionEchoBench(configPath: string, number: string): Promise<void> {
  const app = await openProvisioning({ configPath, logDestination: { write: (s: string) => process.stderr.write(s) } });
  try {
    const p = app.provisioning;
    p.createAccount({ name: 'bench' });
    p.createAgent('bench', { name: 'echo', kind: 'echo' });
    p.addTrunk('bench', { name: 'loopback', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('bench', 'echo', [number]);
  } finally {
    app.close();
  }
}
