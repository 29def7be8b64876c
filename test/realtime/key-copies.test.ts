// How many copies of a tenant's OpenAI key the Realtime client leaves in memory, counted at the
// byte level in a separate process (key-copies-child.ts scans its own /proc/self/mem): each
// connect must leave at most the header string, Node's HTTP request head and its socket write
// (JS strings cannot be wiped; see the README's "Realtime agents"). The OpenAI Realtime
// STAND-IN (not OpenAI) runs here, so its copies are not in the child's memory.
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { OpenAIRealtimeStandIn } from '../stand-ins/openai-realtime.js';

t.test('a connect leaves at most 3 copies of the key in memory, none of them held by anything', async (t) => {
  const key = `sk-proj-COPIES${randomBytes(16).toString('hex')}`;
  const standIn = await OpenAIRealtimeStandIn.start({ apiKey: key });
  t.teardown(() => standIn.close());
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(new URL('./key-copies-child.js', import.meta.url)), standIn.url(), '8'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(key);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0);
  const r = JSON.parse(out.trim()) as { sessions: number; open: number; afterOpen: number; perConnect: number; reachable: number };
  t.equal(r.open, 8, 'all open while measured');
  t.equal(r.reachable, 0, 'no live object holds the key while the sessions are open (the rest is garbage waiting to be reused)');
  t.equal(standIn.connections.length, 8, 'eight sessions were opened with the key');
  // 6.75 per connect before the header was built once in a wiped buffer of its own.
  t.ok(r.perConnect <= 3, `${r.afterOpen} copies in memory after ${r.sessions} connects (${r.perConnect.toFixed(2)} per connect)`);
});
