/**
 * What one admin API request costs the daemon: N sequential authenticated requests over one
 * keep-alive HTTPS connection to a real daemon (this process), for three routes:
 *
 *   GET /v1/token                          authentication only (SHA-256 + one indexed read)
 *   GET /v1/accounts/-/agents?limit=100    + the service's list and a 100-item page
 *   GET /healthz (no token)                the framework and TLS alone, for comparison
 *
 * Prints a markdown table: requests/s and the daemon process's CPU per request (user+system,
 * which includes the client's side here: both run in this process). A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/api-request-bench.js [requests]
 */
import { Agent, request } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { ApiGateway } from '../api/helpers.js';
import { ALL_SCOPES } from '../../src/api/tokens/scopes.js';

const N = Number(process.argv[2] ?? 3000);

async function main(): Promise<void> {
  const api = await new ApiGateway('rate_limit_per_minute = 1000000\n[log]\nlevel = "warn"').start();
  try {
    const token = await api.token({ name: 'bench', scopes: ALL_SCOPES });
    const acct = await api.call('POST', '/v1/accounts', { token, body: { name: 'acme' } });
    if (acct.status !== 201) throw new Error(acct.text);
    const own = await api.token({ name: 'bench-acme', account: 'acme', scopes: ['agents:read', 'agents:write'] });
    for (let i = 0; i < 100; i++) await api.call('POST', '/v1/accounts/-/agents', { token: own, body: { name: `agent-${i}`, kind: 'echo' } });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: api.ca.caPem });
    const get = (path: string, tok?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: api.port, servername: 'localhost', path, agent, headers: tok ? { authorization: `Bearer ${tok}` } : {} }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    const rows: string[] = [];
    for (const [label, path, tok] of [
      ['GET /healthz (no token)', '/healthz', undefined],
      ['GET /v1/token', '/v1/token', own],
      ['GET /v1/accounts/-/agents (100 agents)', '/v1/accounts/-/agents?limit=100', own],
    ] as const) {
      for (let i = 0; i < 200; i++) await get(path, tok); // warm-up
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const status = await get(path, tok);
        if (status !== 200) throw new Error(`${path}: ${status}`);
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      rows.push(`| ${label} | ${N} | ${((N / ms) * 1000).toFixed(0)} | ${((cpu.user + cpu.system) / N).toFixed(0)} |`);
    }
    agent.destroy();
    console.log(`${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}\n`);
    console.log('| route | requests | requests/s | CPU µs per request (server + client) |\n|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    await api.stop();
  }
}

await main();
