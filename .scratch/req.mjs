import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const mode = process.argv[2];
const steps = [];
const mark = async (name, fn) => { const a = performance.now(); await fn(); steps.push([name, performance.now() - a]); };
if (mode === 'esm') {
  await mark('commander', () => import('commander'));
  await mark('smol-toml', () => import('smol-toml'));
  await mark('better-sqlite3', () => import('better-sqlite3'));
} else {
  await mark('commander', () => require('commander'));
  await mark('smol-toml', () => require('smol-toml'));
  await mark('better-sqlite3', () => require('better-sqlite3'));
}
console.log(mode, steps.map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join(' | '), 'uptime', (process.uptime()*1000).toFixed(1));
