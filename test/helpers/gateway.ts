import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Daemon } from '../../src/app/daemon.js';
import { openProvisioning, type ProvisioningApp } from '../../src/app/open-app.js';
import { createMasterKeyFile } from '../../src/crypto/master-key.js';
import type { SipTransport } from '../../src/sip/sip-engine.js';
import type { DrachtioServer } from './drachtio.js';

/**
 * The SIP engine a test runs its gateway on: the embedded engine, or the drachtio engine attached
 * to a REAL drachtio-server (test/helpers/drachtio.ts). Suites take one of these rather than
 * being copied per engine.
 */
export type EngineUnderTest = { readonly name: 'embedded' } | { readonly name: 'drachtio'; readonly server: DrachtioServer };

export const EMBEDDED: EngineUnderTest = { name: 'embedded' };

/**
 * A real gateway daemon in this process, on ephemeral ports of 127.0.0.1, with its own config,
 * database and master key in a temp dir. Log lines are kept in memory for assertions.
 */
export class TestGateway {
  readonly dir: string;
  readonly configPath: string;
  readonly logs: string[] = [];
  daemon!: Daemon;
  admin!: ProvisioningApp;

  constructor(extraToml = '') {
    this.dir = mkdtempSync(join(tmpdir(), 'kalem-gw-'));
    this.configPath = join(this.dir, 'kalem.toml');
    createMasterKeyFile(join(this.dir, 'master.key'));
    writeFileSync(
      this.configPath,
      [
        `[store]\npath = ${JSON.stringify(join(this.dir, 'kalem.db'))}`,
        `[keys]\nmaster_key_file = ${JSON.stringify(join(this.dir, 'master.key'))}`,
        extraToml.includes('[log]') ? '' : `[log]\nlevel = "debug"`,
        `[api]\nport = 0`,
        extraToml,
      ].join('\n'),
    );
  }

  private logStream(): Writable & { write: (s: string) => boolean } {
    const logs = this.logs;
    return new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
        cb();
      },
    }) as Writable & { write: (s: string) => boolean };
  }

  /** Provisioning access to the same database (for set-up before and CDR checks after). */
  async provision(fn: (app: ProvisioningApp) => void): Promise<void> {
    const app = await openProvisioning({ configPath: this.configPath, logDestination: this.logStream() });
    try {
      fn(app);
    } finally {
      app.close();
    }
  }

  async start(): Promise<this> {
    this.daemon = new Daemon({ configPath: this.configPath, logDestination: this.logStream() });
    await this.daemon.start();
    return this;
  }

  port(transport: SipTransport): number {
    const l = this.daemon.sipEngine.listening().find((x) => x.transport === transport);
    if (!l) throw new Error(`gateway has no ${transport} listener`);
    return l.port;
  }

  async stop(): Promise<void> {
    await this.daemon?.stop('test over');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Log records (parsed JSON) with a given msg. */
  records(msg: string): Array<Record<string, unknown>> {
    return this.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === msg);
  }
}

/**
 * A media port range of its own for each test's managed rtpengine (tests run in parallel), below
 * Linux's ephemeral range (32768+) so it does not collide with ports bound with port 0.
 */
export function rtpenginePortRange(size = 400): { portMin: number; portMax: number } {
  const portMin = 20000 + 2 * Math.floor(Math.random() * ((12000 - size) / 2));
  return { portMin, portMax: portMin + size - 1 };
}

/**
 * The usual settings for tests: SIP on loopback, any free port, no TLS unless asked; RTP on
 * loopback, behind a managed rtpengine (the default mode) with a port range of its own unless
 * `rest` has an [rtpengine] section. `sip` lines are added to [sip]; `rest` holds other sections.
 * With a drachtio engine, [sip] points at its drachtio-server (which owns the SIP ports).
 */
export function loopbackConfig(sip = '', rest = '', engine: EngineUnderTest = EMBEDDED): string {
  const { portMin, portMax } = rtpenginePortRange();
  if (engine.name === 'drachtio') sip = `${engine.server.gatewaySipConfig()}\n${sip}`;
  const rtpengine = /^\[rtpengine\]/m.test(rest) ? '' : `\n[rtpengine]\ninterface_address = "127.0.0.1"\nport_min = ${portMin}\nport_max = ${portMax}\n`;
  return `[sip]
listen_address = "127.0.0.1"
udp_port = 0
tcp_port = 0
tls_port = -1
${sip}
[media]
address = "127.0.0.1"
port_min = 40000
port_max = 40999
${rest}${rtpengine}`;
}
