// Shared helpers for the tests of systemd/, scripts/install.sh and the engine configs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file with our package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && parsed.name === 'kalem-gateway') {
        return dir;
      }
    }
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error('repository root (package.json of kalem-gateway) not found');
    dir = parent;
  }
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  readonly error: NodeJS.ErrnoException | undefined;
}

export function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, timeout: 60_000 });
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    error: r.error as NodeJS.ErrnoException | undefined,
  };
}

/** Why a required tool is missing, phrased as the fix; undefined when it runs. */
export function missingTool(cmd: string, args: readonly string[], debianPackage: string): string | undefined {
  const r = run(cmd, args);
  if (r.error === undefined) return undefined;
  return `${cmd} is not installed (${r.error.code ?? r.error.message}): \`make setup\` installs it (Debian package ${debianPackage})`;
}

export const SYSTEMD_ANALYZE_MISSING = (): string | undefined =>
  missingTool('systemd-analyze', ['--version'], 'systemd');

/** Debian's own unit for rtpengine-daemon (bookworm ships it under /lib, usrmerge under /usr/lib). */
export function debianRtpengineUnit(): string | undefined {
  return ['/lib/systemd/system/rtpengine-daemon.service', '/usr/lib/systemd/system/rtpengine-daemon.service'].find(
    (p) => existsSync(p),
  );
}

/**
 * Lines of `systemd-analyze verify` output that are about our files: they name one of our units
 * or a path under our temporary directory. Complaints about unrelated system units that verify
 * loads as dependencies (network-online.target and friends) are left out.
 */
export function verifyComplaints(output: string, tmpDir: string, unitNames: readonly string[]): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .filter((l) => l.includes(tmpDir) || unitNames.some((u) => l.startsWith(`${u}:`) || l.includes(`/${u}`)));
}
