import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the built `kalem` binary (dist/src/main.js), from dist/test/helpers/. */
export const KALEM_BIN = resolve(fileURLToPath(import.meta.url), '../../../src/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A scratch installation: its own config, database and master key path under a temp dir. */
export class KalemSandbox {
  readonly dir: string;
  readonly configPath: string;
  readonly dbPath: string;
  readonly keyPath: string;

  constructor(extraToml = '') {
    this.dir = mkdtempSync(join(tmpdir(), 'kalem-test-'));
    this.configPath = join(this.dir, 'kalem.toml');
    this.dbPath = join(this.dir, 'var', 'kalem.db');
    this.keyPath = join(this.dir, 'master.key');
    writeFileSync(
      this.configPath,
      `[store]\npath = ${JSON.stringify(this.dbPath)}\n[keys]\nmaster_key_file = ${JSON.stringify(this.keyPath)}\n` +
        // Any free port on loopback, so tests never collide with each other or a running gateway.
        `[sip]\nlisten_address = "127.0.0.1"\nudp_port = 0\ntcp_port = 0\ntls_port = -1\n[api]\nport = 0\n${extraToml}`,
    );
  }

  /** Runs `kalem -c <config> ...args` synchronously; `input` goes to stdin (secrets). */
  run(args: string[], input?: string | Buffer): CliResult {
    const r = spawnSync(process.execPath, [KALEM_BIN, '-c', this.configPath, ...args], {
      input: input ?? '',
      encoding: 'utf8',
      env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '' },
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts kalem without waiting (for kill tests and the daemon). */
  spawn(args: string[], env: NodeJS.ProcessEnv = {}) {
    return spawn(process.execPath, [KALEM_BIN, '-c', this.configPath, ...args], {
      env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /** keys init + one account with an agent: the common starting point. */
  provisionBasic(account = 'acme', agent = 'support'): void {
    for (const args of [['keys', 'init'], ['account', 'create', account], ['agent', 'create', account, agent]]) {
      const r = this.run(args);
      if (r.code !== 0) throw new Error(`kalem ${args.join(' ')} failed: ${r.stderr}`);
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
