import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const SCENARIOS = resolve(fileURLToPath(import.meta.url), '../../../../sipp-scenarios');

export interface SippRun {
  code: number | null;
  stdout: string;
  errors: string;
  messages: string;
}

export interface SippOptions {
  scenario: string;
  target: string;
  transport: 'u1' | 't1';
  service: string;
  /** Local address SIPp binds (for untrusted-source tests). */
  localIp?: string;
  calls?: number;
  /** -d: pause length in ms. */
  pauseMs?: number;
  extra?: string[];
  timeoutS?: number;
}

/**
 * Runs Debian's SIPp (`sipp`, package sip-tester) against the gateway and resolves with its exit
 * code (0 = every call succeeded), its error file and its message trace. Wrapped in `timeout`:
 * SIPp's own -timeout does not always end a stuck run.
 */
export async function runSipp(o: SippOptions): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-sipp-'));
  const port = await freePort();
  const mediaPort = await freePort();
  const args = [
    String(o.timeoutS ?? 60),
    'sipp',
    '-sf', join(SCENARIOS, o.scenario),
    '-t', o.transport,
    '-i', o.localIp ?? '127.0.0.1',
    '-mi', o.localIp ?? '127.0.0.1',
    '-p', String(port),
    '-mp', String(mediaPort),
    '-s', o.service,
    '-m', String(o.calls ?? 1),
    '-l', String(o.calls ?? 1),
    '-d', String(o.pauseMs ?? 500),
    '-nostdin',
    '-timeout', `${(o.timeoutS ?? 60) - 5}s`,
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-trace_msg', '-message_file', join(dir, 'messages.log'),
    ...(o.extra ?? []),
    o.target,
  ];
  const child = spawn('timeout', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const read = (f: string): string => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  const run = { code, stdout, errors: read('errors.log'), messages: read('messages.log') };
  rmSync(dir, { recursive: true, force: true }); // everything a test needs is in `run` now
  return run;
}
