/**
 * A planted OpenAI key must appear in no log line, even at trace level, through a successful
 * session, a refused key (the OpenAI STAND-IN's 401 body quotes the key it received, as the real
 * API partly does), a dropped socket and a failed reconnect. Also checked: no `Bearer` header
 * text and no error's message or JSON.
 */
import t from 'tap';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { RealtimeClient, type ToolCall } from '../../src/realtime/realtime-client.js';
import { RealtimeError } from '../../src/realtime/realtime-error.js';
import { ReconnectPolicy, reconnectWithPolicy } from '../../src/realtime/reconnect-policy.js';
import { buildSessionConfig } from '../../src/realtime/session-config.js';
import { OpenAIRealtimeStandIn, tone } from '../stand-ins/openai-realtime.js';
import { agent, keyBytes, next, pcmBytes } from './helpers.js';

const PLANTED = 'sk-PLANTED-realtime-4c1d9e7f2a6b8c0d3e5f';

t.test('the planted key never reaches a log line or an error', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
  const good = await OpenAIRealtimeStandIn.start({ apiKey: PLANTED });
  const other = await OpenAIRealtimeStandIn.start({ apiKey: 'sk-some-other-account-key' });
  const client = new RealtimeClient({ logger, pingIntervalMs: 0 });
  t.teardown(async () => {
    await client.close();
    await good.close();
    await other.close();
  });
  const errors: unknown[] = [];
  // The caller's side of the contract: a fresh copy per connect, wiped right after.
  const connectTo = async (url: string): Promise<void> => {
    const key = keyBytes(PLANTED);
    try {
      await client.connect({ url, apiKey: key, timeoutMs: 3000 });
    } finally {
      key.fill(0);
    }
  };

  // 1. Refused: the 401 body contains the whole key.
  await connectTo(other.url()).catch((e: unknown) => errors.push(e));
  t.equal((errors[0] as RealtimeError | undefined)?.kind, 'auth');
  t.equal(other.upgrades[0]?.refusedWith, 401);

  // 2. A working session with audio, a tool call and a server error.
  await connectTo(good.url());
  await client.updateSession(buildSessionConfig(agent()));
  client.appendAudio(pcmBytes(tone(24000, 200)));
  const called = next(client, 'response.function_call_arguments.done');
  good.latest.callFunction('end_call', '{}');
  const [, call] = (await called) as [unknown, ToolCall];
  client.sendFunctionOutput(call.callId, '{"ok":true}');
  client.truncate('no-such-item', 0, 10);
  await next(client, 'server_error');

  // 3. Dropped, then a reconnect that meets a 503 and then succeeds.
  const dropped = next(client, 'disconnected');
  good.dropAll();
  const [err] = await dropped;
  errors.push(err);
  good.refuseUpgrades({ status: 503, times: 1 });
  await reconnectWithPolicy(err, () => connectTo(good.url()), {
    policy: new ReconnectPolicy({ initialDelayMs: 5, jitter: 0 }),
    clock: systemClock,
    onRetry: (_n, _d, e) => errors.push(e),
  });
  await client.close();

  const log = lines.join('');
  t.ok(lines.length > 10, `${lines.length} log lines written at trace level`);
  t.match(log, /realtime connect failed/, 'the failures were logged');
  t.match(log, /realtime session dropped/);
  t.notOk(log.includes(PLANTED), 'no log line holds the key');
  t.notOk(log.includes('PLANTED'), 'nor any part of it');
  t.notOk(/bearer/i.test(log), 'nor the Authorization header');
  for (const e of errors) {
    t.ok(e instanceof RealtimeError);
    const text = `${(e as Error).message} ${JSON.stringify(e)} ${String((e as Error).stack)}`;
    t.notOk(text.includes('PLANTED'), `error ${(e as RealtimeError).kind} does not quote the key`);
  }
});
