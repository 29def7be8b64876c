/**
 * Shared set-up of the drachtio engine tests: a DrachtioEngine connected to the drachtio-server
 * STAND-IN (test/stand-ins/drachtio-server.ts, not the real server), a secret file, a logger
 * whose lines are kept so tests can check the secret never reaches them.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/logger.js';
import type { CallEndReason, IncomingCall } from '../../../src/sip/sip-engine.js';
import { DrachtioEngine, type DrachtioEngineOptions } from '../../../src/sip/drachtio/drachtio-engine.js';
import { DrachtioServerStandIn } from '../../stand-ins/drachtio-server.js';

export const SECRET = 'stand-in-secret-3f9a1c';

export interface Harness {
  readonly engine: DrachtioEngine;
  readonly standIn: DrachtioServerStandIn;
  readonly warnings: string[];
  readonly logLines: string[];
  readonly secretFile: string;
  cleanup(): Promise<void>;
}

export function writeSecretFile(secret: string, mode = 0o600): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-drachtio-'));
  const path = join(dir, 'drachtio.secret');
  writeFileSync(path, `${secret}\n`);
  chmodSync(path, mode);
  return { path, dir };
}

export function captureLogger(lines: string[]): ReturnType<typeof createLogger> {
  return createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
}

export async function startHarness(
  opts: { clientSecret?: string; clock?: Clock; engine?: Partial<DrachtioEngineOptions>; start?: boolean } = {},
): Promise<Harness> {
  const standIn = await DrachtioServerStandIn.start({ secret: SECRET });
  const { path, dir } = writeSecretFile(opts.clientSecret ?? SECRET);
  const logLines: string[] = [];
  const warnings: string[] = [];
  const engine = new DrachtioEngine({
    host: '127.0.0.1',
    port: standIn.port,
    secretFile: path,
    logger: captureLogger(logLines),
    connectTimeoutMs: 3000,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...opts.engine,
  });
  engine.on('warning', (w) => warnings.push(w));
  const h: Harness = {
    engine,
    standIn,
    warnings,
    logLines,
    secretFile: path,
    async cleanup() {
      await engine.stop();
      await standIn.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.start !== false) {
    await engine.start();
    await standIn.waitForRoute('invite');
    await standIn.waitForRoute('options');
  }
  return h;
}

/** Sends an INVITE through the stand-in and waits for the engine's `call`. */
export function nextCall(engine: DrachtioEngine): Promise<IncomingCall> {
  return new Promise((resolve) => engine.once('call', resolve));
}

/** Waits for a call's `ended` and returns the reason; fails the test on a second `ended`. */
export function endedOf(call: IncomingCall): Promise<CallEndReason> {
  return new Promise((resolve, reject) => {
    let n = 0;
    call.on('ended', (reason) => {
      n += 1;
      if (n === 1) resolve(reason);
      else reject(new Error(`ended emitted ${n} times`));
    });
  });
}

export function waitForWarning(h: Harness, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  const seen = h.warnings.find((w) => pattern.test(w));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const on = (w: string): void => {
      if (!pattern.test(w)) return;
      clearTimeout(timer);
      h.engine.off('warning', on);
      resolve(w);
    };
    const timer = setTimeout(() => {
      h.engine.off('warning', on);
      reject(new Error(`no warning matching ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(h.warnings)}`));
    }, timeoutMs);
    h.engine.on('warning', on);
  });
}

export const ANSWER_SDP = [
  'v=0',
  'o=kalem 7 7 IN IP4 127.0.0.1',
  's=kalem',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 30000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');
