import t from 'tap';
import { createLogger } from '../../src/core/logger.js';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

t.test('a child logger never repeats a field: the innermost binding wins', async (t) => {
  const out = capture();
  const root = createLogger({ destination: out.destination });
  const calls = root.child({ component: 'calls' });
  const call = calls.child({ callId: 'call_1', accountId: 'acc_1' });
  const realtime = call.child({ component: 'realtime' }).child({ component: 'realtime' });
  realtime.info({ event: 'x' }, 'hello');
  calls.info('parent unchanged');
  const [line, parentLine] = out.lines;
  t.equal(line!.match(/"component"/g)?.length, 1, `one "component" key in ${line}`);
  t.equal(line!.match(/"service"/g)?.length, 1, 'the base field once');
  const parsed = JSON.parse(line!) as Record<string, unknown>;
  t.equal(parsed.component, 'realtime');
  t.equal(parsed.callId, 'call_1');
  t.equal(parsed.accountId, 'acc_1');
  t.equal(parsed.event, 'x');
  t.equal((JSON.parse(parentLine!) as Record<string, unknown>).component, 'calls', 'the parent keeps its own binding');
});

t.test('bindings that carry a secret are still redacted after the rebuild', async (t) => {
  const out = capture();
  const log = createLogger({ destination: out.destination }).child({ component: 'a' }).child({ component: 'b', password: 'hunter2' });
  log.info('x');
  t.notMatch(out.lines[0]!, /hunter2/);
  t.match(out.lines[0]!, /"password":"\[redacted\]"/);
});
