// The daemon's process-level fault handlers (src/app/fault-handlers.ts) in a process of their
// own (fault-child.ts): errors nobody caught end the call they came from, or are logged and
// counted, and the process lives on to report it and exit 0.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

t.test('an uncaught exception or unhandled rejection ends its own call (or is logged), never the process', async (t) => {
  const child = fileURLToPath(new URL('./fault-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, `the process survived and exited normally${r.status === 0 ? '' : `\n${r.stderr}`}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { faults: Array<{ callId: string; where: string; message: string }>; logs: string[]; metrics: string[] };
  t.same(
    out.faults.map((f) => [f.callId, f.where, f.message]).sort(),
    [
      ['call_A', 'uncaughtException', 'handler threw'],
      ['call_B', 'unhandledRejection', 'async handler rejected'],
    ],
    "each error went to the call whose work raised it, and only to it",
  );
  t.same(out.logs, ['internal error outside any call: logged; the daemon carries on'], 'the one outside any call is logged');
  t.same(out.metrics.sort(), ['kalem_internal_errors_total{scope="call"} 2', 'kalem_internal_errors_total{scope="process"} 1']);
});
