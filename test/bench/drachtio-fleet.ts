/**
 * The drachtio engine's side of the benchmark programs (sip-call-rate, realtime-concurrency): a
 * real drachtio-server on loopback (test/helpers/drachtio.ts, needs DRACHTIO_BIN) and the configs
 * of N daemons attached to it, one database and master key between them, each with its own API
 * port (to ask it whether it is attached, and for /metrics) and whatever sections the benchmark
 * adds (media ranges must differ between the daemons of one box).
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrachtioServer } from '../helpers/drachtio.js';
import { freePort } from '../helpers/ports.js';

/** Which SIP engine a benchmark runs: the daemon's own, or drachtio-server in front. */
export type BenchEngine = 'embedded' | 'drachtio';

/** The value of `--engine`. */
export function benchEngine(value: string | undefined): BenchEngine {
  if (value !== 'embedded' && value !== 'drachtio') throw new TypeError(`--engine is embedded or drachtio, not ${String(value)}`);
  return value;
}

/** One daemon's files behind drachtio-server. */
export interface FleetDaemonFiles {
  configPath: string;
  logPath: string;
  apiPort: number;
}

/**
 * Writes `kalem.toml` (daemon 0) and `kalem-<i>.toml` in `dir`: `baseToml` (store, keys, log from
 * benchGatewayFiles), `[sip]` pointing at drachtio-server with the per-source rate limit opened
 * up (every bench call comes from one address), `[api]` on a free port, then `sections(i)`, which
 * must not repeat `[sip]` or `[api]`.
 */
export async function writeFleetConfigs(drachtio: DrachtioServer, dir: string, baseToml: string, n: number, sections: (i: number) => string): Promise<FleetDaemonFiles[]> {
  const out: FleetDaemonFiles[] = [];
  for (let i = 0; i < n; i++) {
    const configPath = join(dir, i === 0 ? 'kalem.toml' : `kalem-${i}.toml`);
    const apiPort = await freePort();
    writeFileSync(configPath, `${baseToml}[sip]\n${drachtio.gatewaySipConfig()}\nrate_limit_requests = 100000000\n[api]\nport = ${apiPort}\n${sections(i)}`);
    out.push({ configPath, logPath: join(dir, `daemon-${i}.log`), apiPort });
  }
  return out;
}

/**
 * Resolves once the daemon's /healthz reports its SIP side ok (bounded: 20 s). Behind
 * drachtio-server an OPTIONS may be answered by drachtio-server or another daemon, so the daemon
 * itself is asked whether its link to drachtio-server is up.
 */
export async function waitForHealthySip(apiPort: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`daemon exited with code ${child.exitCode} before it was attached`);
    try {
      const body = (await (await fetch(`http://127.0.0.1:${apiPort}/healthz`)).json()) as { checks?: { sip?: { ok?: boolean } } };
      if (body.checks?.sip?.ok === true) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('daemon did not report its drachtio-server link within 20 s');
}
