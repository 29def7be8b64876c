import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCa } from './certs.js';
import { freePort } from './ports.js';

/**
 * The REAL drachtio-server (not the stand-in in test/stand-ins/drachtio-server.ts), started by a
 * test on ephemeral loopback ports and stopped in its teardown.
 *
 * The binary comes from env `DRACHTIO_BIN` (`.ci/run` points it at ../shared/drachtio/bin/drachtio,
 * a build of drachtio-server from its public source; it has no Debian or npm package). Without
 * it, `drachtioSkipReason()` says why and real-drachtio tests skip with that reason: they are
 * reported as skipped, never as passed.
 *
 * Each server gets a temp dir with its config, a throwaway admin secret (also written, mode 0600,
 * to the file the gateway's `sip.drachtio_secret_file` names) and a throwaway certificate for its
 * TLS listener. It runs as config/drachtio.conf.xml and systemd/drachtio-server.service say a
 * production one must:
 *   - `--disable-nat-detection`: its UDP NAT detection dereferences a null host (segfault) when an
 *     application answers an INVITE whose Contact has no parsable host;
 *   - env `DRACHTIO_SUPPORT_BEST_EFFORT_TLS=1`: otherwise the 200 OK it relays for a TLS call has a
 *     `sips:` Contact, which baresip (libre) cannot send ACK or BYE to.
 * Ready means it printed "Starting sofia event loop" (its SIP transports are bound by then and
 * the admin port listens); a server that exits first fails start() with its output.
 */

export function drachtioBinary(): string | undefined {
  const bin = process.env.DRACHTIO_BIN;
  return bin && existsSync(bin) ? bin : undefined;
}

/** Why real-drachtio tests cannot run here, or undefined when they can. */
export function drachtioSkipReason(): string | undefined {
  const bin = process.env.DRACHTIO_BIN;
  if (!bin) return 'real drachtio-server suite NOT RUN: DRACHTIO_BIN is not set (.ci/run sets it from ../shared/drachtio)';
  if (!existsSync(bin)) return `real drachtio-server suite NOT RUN: DRACHTIO_BIN=${bin} does not exist`;
  return undefined;
}

export interface DrachtioStartOptions {
  /** `<loglevel>`: notice (default) or info (with sofia-loglevel 3 it prints every SIP message). */
  readonly logLevel?: 'notice' | 'info' | 'debug';
  readonly sofiaLogLevel?: number;
  /** Also open a TLS listener (certificate from a throwaway CA). Default true. */
  readonly tls?: boolean;
}

export class DrachtioServer {
  readonly dir: string;
  readonly secret: string;
  readonly secretFile: string;
  private output = '';
  private child: ChildProcess | null = null;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private exited: Promise<void> = Promise.resolve();
  private ca: TestCa | null = null;
  /** The CA that issued the TLS listener's certificate (for a caller's trust store). */
  caFile: string | null = null;

  private constructor(
    readonly binary: string,
    readonly adminPort: number,
    /** UDP and TCP SIP port (one number for both). */
    readonly sipPort: number,
    readonly tlsPort: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'kalem-drachtio-'));
    this.secret = randomBytes(16).toString('hex');
    this.secretFile = join(this.dir, 'drachtio.secret');
    writeFileSync(this.secretFile, `${this.secret}\n`);
    chmodSync(this.secretFile, 0o600);
  }

  static async start(opts: DrachtioStartOptions = {}): Promise<DrachtioServer> {
    const binary = drachtioBinary();
    if (!binary) throw new Error(drachtioSkipReason());
    const [adminPort, sipPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
    const server = new DrachtioServer(binary, adminPort, sipPort, tlsPort);
    try {
      await server.launch(opts);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async launch(opts: DrachtioStartOptions): Promise<void> {
    const tls = opts.tls !== false;
    let tlsXml = '';
    if (tls) {
      this.ca = new TestCa('drachtio test CA');
      const cert = this.ca.issueServer('127.0.0.1', this.dir, 'sip-tls');
      this.caFile = this.ca.caFile;
      tlsXml = `
    <tls>
      <key-file>${cert.keyFile}</key-file>
      <cert-file>${cert.certFile}</cert-file>
      <chain-file>${cert.certFile}</chain-file>
    </tls>`;
    }
    const config = join(this.dir, 'drachtio.conf.xml');
    writeFileSync(
      config,
      `<drachtio>
  <admin port="${this.adminPort}" secret="${this.secret}">127.0.0.1</admin>
  <sip>
    <contacts>
      <contact>sip:127.0.0.1:${this.sipPort};transport=udp,tcp</contact>${tls ? `\n      <contact>sips:127.0.0.1:${this.tlsPort};transport=tls</contact>` : ''}
    </contacts>${tlsXml}
  </sip>
  <cdrs>false</cdrs>
  <logging><console/><loglevel>${opts.logLevel ?? 'notice'}</loglevel><sofia-loglevel>${opts.sofiaLogLevel ?? 1}</sofia-loglevel></logging>
</drachtio>
`,
    );
    chmodSync(config, 0o600); // it holds the secret
    await this.spawnServer(config);
  }

  /** Starts it again on the same ports and secret after it exited (a crash, a kill, a restart). */
  async relaunch(): Promise<void> {
    if (this.running) throw new Error('drachtio-server is still running');
    this.exitInfo = null;
    this.output = '';
    await this.spawnServer(join(this.dir, 'drachtio.conf.xml'));
  }

  private async spawnServer(config: string): Promise<void> {
    const child = spawn(this.binary, ['-f', config, '--disable-nat-detection'], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DRACHTIO_SUPPORT_BEST_EFFORT_TLS: '1' },
    });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      child.once('error', (err) => {
        this.output += `\nspawn error: ${err.message}\n`;
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const take = (d: Buffer): void => {
        this.output += d.toString('utf8');
        if (this.output.length > 4_000_000) this.output = this.output.slice(-2_000_000);
        if (this.output.includes('Starting sofia event loop')) resolve();
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
      void this.exited.then(() => reject(new Error(`drachtio-server exited before it was ready (${JSON.stringify(this.exitInfo)}):\n${this.output.slice(-3000)}`)));
    });
  }

  /** Everything it printed so far. */
  logs(): string {
    return this.output;
  }

  /** Still running (not exited, not crashed)? */
  get running(): boolean {
    return this.child !== null && this.exitInfo === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exit(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exitInfo;
  }

  /** `[sip]` lines that point a gateway at this server. */
  gatewaySipConfig(): string {
    return [
      'engine = "drachtio"',
      'drachtio_host = "127.0.0.1"',
      `drachtio_port = ${this.adminPort}`,
      `drachtio_secret_file = ${JSON.stringify(this.secretFile)}`,
    ].join('\n');
  }

  /** Pauses (SIGSTOP) or resumes (SIGCONT) the process: a server that is there but answers nothing. */
  signal(sig: 'SIGSTOP' | 'SIGCONT' | 'SIGTERM' | 'SIGKILL'): void {
    if (this.running) this.child!.kill(sig);
  }

  /** Resolves when the process has exited. */
  whenExited(): Promise<void> {
    return this.exited;
  }

  /** SIGTERM (SIGCONT first, in case a test paused it), SIGKILL after 3 s; removes the temp dir. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child!.kill('SIGCONT');
      this.child!.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
    this.ca?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One real drachtio-server for a whole test file, started before its tests and stopped after;
 * without DRACHTIO_BIN the file plans nothing and says why (never a pass).
 */
export function withSharedDrachtio(
  t: Test,
  opts: DrachtioStartOptions,
  suite: (server: () => DrachtioServer) => void,
): void {
  const notRun = drachtioSkipReason();
  if (notRun) {
    t.plan(0, notRun);
    return;
  }
  let server: DrachtioServer | undefined;
  t.before(async () => {
    server = await DrachtioServer.start(opts);
  });
  t.teardown(() => server?.stop());
  suite(() => server!);
}
