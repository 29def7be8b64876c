// `kalem doctor`'s rtpengine check against the real rtpengine 10.5 (Debian rtpengine-daemon,
// installed by `make setup`), not a stand-in: started with config/rtpengine.conf, its listeners
// moved to free loopback ports so it never collides with a running rtpengine-daemon.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { rtpenginePing } from '../../src/app/doctor.js';
import { missingTool, repoRoot } from '../systemd/helpers.js';

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(r));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const missing = missingTool('rtpengine', ['--version'], 'rtpengine-daemon');
if (missing !== undefined) {
  t.fail(missing);
} else {
  t.test('doctor pings a real rtpengine, and notices when it is gone', async (t) => {
    const ng = await freeUdpPort();
    const child = spawn(
      'rtpengine',
      [
        '--foreground',
        '--log-stderr',
        '--config-file',
        join(repoRoot(), 'config', 'rtpengine.conf'),
        '--config-section',
        'rtpengine',
        `--listen-ng=127.0.0.1:${ng}`,
        `--listen-cli=127.0.0.1:${await freeTcpPort()}`,
        `--listen-http=127.0.0.1:${await freeTcpPort()}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = once(child, 'exit');
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    };
    t.teardown(stop);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        log += chunk;
        if (log.includes('Startup complete')) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`rtpengine exited (${code ?? signal}):\n${log}`)));
    });

    const ms = await rtpenginePing(`127.0.0.1:${ng}`, 2000);
    t.ok(ms >= 0 && ms < 2000, `pong in ${ms} ms`);

    await stop();
    await t.rejects(rtpenginePing(`127.0.0.1:${ng}`, 1000), /connection refused|no answer/, 'stopped: the ping fails');
  });
}
