// The echo agent's endpoint on a loopback socket; the caller and an intruder are UDP sockets.
import t from 'tap';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { EchoEndpoint } from '../../src/media/echo-endpoint.js';
import { rtpPacket } from './rtpengine/helpers.js';

t.test('the echo latches on the first source; packets from anyone else are dropped and counted, not echoed', async (t) => {
  const [ours, caller, intruder] = [dgram.createSocket('udp4'), dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  for (const s of [ours, caller, intruder]) s.bind(0, '127.0.0.1');
  await Promise.all([ours, caller, intruder].map((s) => once(s, 'listening')));
  const echo = new EchoEndpoint(ours, ours.address().port, () => ours.close(), { address: '127.0.0.1', port: caller.address().port });
  t.teardown(() => {
    echo.close();
    caller.close();
    intruder.close();
  });
  const heard: number[] = [];
  let wake: (() => void) | undefined;
  caller.on('message', (m: Buffer) => {
    heard.push(m[12]!);
    wake?.();
  });
  const echoed = (fill: number): Promise<void> =>
    new Promise((resolve) => {
      wake = () => heard.includes(fill) && resolve();
    });
  const first = echoed(0x41);
  caller.send(rtpPacket(0, 1, 160, 7, 0x41), ours.address().port, '127.0.0.1');
  await first;
  for (let i = 0; i < 5; i++) intruder.send(rtpPacket(0, 2 + i, 320, 7, 0xee), ours.address().port, '127.0.0.1');
  // Until the five intruding packets are accounted for (dropped or, before the fix, echoed).
  await new Promise<void>((resolve) => {
    const check = (): void => (echo.stats.foreignDropped + heard.filter((x) => x === 0xee).length >= 5 ? resolve() : void setImmediate(check));
    check();
  });
  const next = echoed(0x42);
  caller.send(rtpPacket(0, 8, 1280, 7, 0x42), ours.address().port, '127.0.0.1');
  await next;
  t.same(heard, [0x41, 0x42], 'only the caller was echoed');
  t.same(echo.stats, { received: 2, sent: 2, foreignDropped: 5 });
});
