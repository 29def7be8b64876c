/**
 * Start-up cost of `kalem` commands, whole process, against bare `node -e 0`.
 *
 * Makes a throwaway installation (config, master key, one account, agent and number), then runs
 * each command and the baseline in turn (A B A B …, so drift in the machine's speed hits both),
 * each under /usr/bin/time, and prints min/median/max of wall and CPU (user + system) seconds and
 * the median of the pairwise A/B ratios. Usage:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/cli-startup.js [--runs 10]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KALEM_BIN, KalemSandbox } from '../helpers/kalem-cli.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

interface Sample {
  wall: number;
  cpu: number;
}

function timed(argv: string[]): Sample {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-bench-time-'));
  try {
    const out = join(dir, 'time.txt');
    const r = spawnSync('/usr/bin/time', ['-o', out, '-f', '%e %U %S', ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    const [wall, user, sys] = spawnSync('cat', [out], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number) as [number, number, number];
    return { wall, cpu: user + sys };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(3)}  ${s[Math.floor(s.length / 2)]!.toFixed(3)}  ${s[s.length - 1]!.toFixed(3)}`;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const k = new KalemSandbox();
try {
  k.provisionBasic('acme', 'support');
  if (k.run(['number', 'add', 'acme', 'support', '+14155550100']).code !== 0) throw new Error('number add failed');
  const commands: Array<[string, string[]]> = [
    ['kalem --help', ['--help']],
    ['kalem number list acme', ['-c', k.configPath, 'number', 'list', 'acme']],
    ['kalem account create', ['-c', k.configPath, 'account', 'create']],
  ];
  const baseline = [process.execPath, '-e', '0'];
  console.log(`runs: ${RUNS} each, in turn with node -e 0; seconds: min  median  max`);
  for (const [label, args] of commands) {
    const a: Sample[] = [];
    const b: Sample[] = [];
    let n = 0;
    for (let i = 0; i <= RUNS; i++) {
      // `account create` needs a fresh name each run.
      const argv = label === 'kalem account create' ? [...args, `bench${n++}`] : args;
      const sa = timed([process.execPath, KALEM_BIN, ...argv]);
      const sb = timed(baseline);
      if (i === 0) continue; // warm-up
      a.push(sa);
      b.push(sb);
    }
    console.log(`\n${label}`);
    console.log(`  A wall  ${stats(a.map((s) => s.wall))}    A cpu  ${stats(a.map((s) => s.cpu))}`);
    console.log(`  B wall  ${stats(b.map((s) => s.wall))}    B cpu  ${stats(b.map((s) => s.cpu))}`);
    console.log(`  A/B median: wall ${median(a.map((s, i) => s.wall / b[i]!.wall)).toFixed(2)}, cpu ${median(a.map((s, i) => s.cpu / Math.max(0.001, b[i]!.cpu))).toFixed(2)}`);
  }
} finally {
  k.cleanup();
}
