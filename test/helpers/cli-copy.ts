import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (three levels above dist/test/helpers/). */
const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

/**
 * The packages a read command (`kalem account list`) loads, with better-sqlite3's way to its
 * addon (test/cli/lazy-load.test.ts keeps this list honest: a read command loads nothing else).
 */
const READ_PACKAGES = ['commander', 'smol-toml', 'better-sqlite3', 'bindings', 'file-uri-to-path'];

/**
 * A copy of the built CLI that another user can run, for tests that run `kalem` as someone other
 * than the tester (a database owned by another user). The checkout itself may not be readable by
 * that user: a clone made under `umask 077`, or a checkout below a private home directory. So
 * dist/src, package.json (which makes dist/ ES modules) and the read packages are copied into a
 * temp dir made readable by all; `cleanup()` removes it.
 */
export function cliCopyForOtherUsers(): { bin: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-cli-copy-'));
  try {
    cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true, filter: (p) => !p.endsWith('.map') });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    for (const name of READ_PACKAGES) {
      const from = join(ROOT, 'node_modules', name);
      // better-sqlite3: its JavaScript and the built addon, not its 25 MB of C sources.
      cpSync(from, join(dir, 'node_modules', name), {
        recursive: true,
        filter: (p) => {
          const rel = relative(from, p).split(sep);
          return !(name === 'better-sqlite3' && (rel[0] === 'deps' || rel[0] === 'src' || (rel[0] === 'build' && rel.length > 1 && rel[1] !== 'Release') || (rel[1] === 'Release' && rel.length > 2 && rel[2] !== 'better_sqlite3.node')));
        },
      });
    }
    openToAll(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { bin: join(dir, 'dist', 'src', 'main.js'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** chmod a+rX, recursively (a copy keeps the modes of a private checkout). */
function openToAll(path: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    chmodSync(path, st.mode | 0o755);
    for (const entry of readdirSync(path)) openToAll(join(path, entry));
  } else {
    chmodSync(path, st.mode | 0o444);
  }
}
