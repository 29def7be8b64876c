// Run by key-copies.test.ts in its own process: connects Realtime sessions with a key read from
// stdin to the OpenAI Realtime STAND-IN that the test runs (not OpenAI; in the parent process,
// so its own copies of the key are not counted here), then counts the key's bytes in this
// process's whole writable memory (/proc/self/mem): live strings, garbage not yet reused,
// buffers, native memory. Prints one JSON line per measurement.
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';
import v8 from 'node:v8';
import { RealtimeClient } from '../../src/realtime/realtime-client.js';

/** Occurrences of `needle` (latin1 and UTF-16) in this process's writable mappings. */
function countInMemory(needles: Buffer[]): number {
  const fd = openSync('/proc/self/mem', 'r');
  const chunk = Buffer.allocUnsafeSlow(8 * 1024 * 1024);
  let count = 0;
  try {
    for (const line of readFileSync('/proc/self/maps', 'latin1').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (!m || line.includes('[vvar]') || line.includes('[vsyscall]')) continue;
      const start = parseInt(m[1]!, 16);
      const end = parseInt(m[2]!, 16);
      const overlap = 64;
      for (let at = start; at < end; at += chunk.length - overlap) {
        const len = Math.min(chunk.length, end - at);
        let n = 0;
        try {
          n = readSync(fd, chunk, 0, len, at);
        } catch {
          break;
        }
        const view = chunk.subarray(0, n);
        for (const needle of needles) {
          for (let i = view.indexOf(needle); i !== -1; i = view.indexOf(needle, i + 1)) {
            // A hit in the overlap is counted by the next chunk.
            if (at + len < end && i > n - overlap) continue;
            count++;
          }
        }
        if (at + len >= end) break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return count;
}

const [url, sessionsArg] = process.argv.slice(2);
const sessions = Number(sessionsArg ?? 5);
// The key, from stdin, into one buffer of our own (not pooled).
const stdin = readFileSync(0);
const key = Buffer.allocUnsafeSlow(stdin.length);
stdin.copy(key);
stdin.fill(0);
// What is searched: the key's random tail, as latin1 bytes and as UTF-16 (two-byte strings).
const tail = key.subarray(key.length - 16);
const needles = [Buffer.from(tail), Buffer.from(tail.toString('latin1'), 'utf16le')];
(globalThis as { gc?: () => void }).gc?.();
const baseline = countInMemory(needles);
const clients: RealtimeClient[] = [];
for (let i = 0; i < sessions; i++) {
  const c = new RealtimeClient({ pingIntervalMs: 0 });
  const bytes = new Uint8Array(key); // what the vault hands over: a fresh copy, wiped after connect
  await c.connect({ url: url!, apiKey: bytes });
  bytes.fill(0);
  clients.push(c);
}
(globalThis as { gc?: () => void }).gc?.();
const afterOpen = countInMemory(needles) - baseline;
// Which of those are still reachable (held by something) while the sessions are open: a heap
// snapshot lists the strings of live objects only.
const snapshot = await new Promise<string>((resolve) => {
  const parts: string[] = [];
  const stream = v8.getHeapSnapshot();
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => parts.push(d));
  stream.on('end', () => resolve(parts.join('')));
});
const strings = (JSON.parse(snapshot) as { strings: string[] }).strings;
const needle = tail.toString('latin1');
const reachable = strings.filter((x) => x.includes(needle)).length;
const open = clients.filter((c) => c.state === 'open').length;
for (const c of clients) await c.close();
process.stdout.write(JSON.stringify({ sessions, open, afterOpen, perConnect: afterOpen / sessions, reachable }) + '\n');
