// config/rtpengine.conf against the real rtpengine 10.5 from Debian's rtpengine-daemon package
// (installed by `make setup`): every option name is one rtpengine knows (it silently ignores
// unknown keys, so a typo would otherwise go unnoticed), and rtpengine started with the file
// answers an ng `ping` on loopback.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { missingTool, repoRoot, run } from './helpers.js';

const CONF = join(repoRoot(), 'config', 'rtpengine.conf');

/** `key = value` pairs of one section of an rtpengine (GLib key file) config. */
function readSection(text: string, section: string): Map<string, string> {
  const out = new Map<string, string>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1] ?? '';
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new TypeError(`not key = value: ${line}`);
    if (current === section) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const settings = readSection(readFileSync(CONF, 'utf8'), 'rtpengine');

t.test('the sample says what the gateway needs', async (t) => {
  t.equal(settings.get('table'), '-1', 'userspace forwarding (no kernel module)');
  t.equal(settings.get('listen-ng'), '127.0.0.1:2223', 'ng control on loopback, the daemon default');
  t.match(settings.get('listen-cli') ?? '', /^127\.0\.0\.1:\d+$/, 'CLI on loopback only');
  t.match(settings.get('listen-http') ?? '', /^127\.0\.0\.1:\d+$/, 'HTTP/metrics on loopback only');
  t.ok(settings.get('interface'), 'a media interface is set');
  const min = Number(settings.get('port-min'));
  const max = Number(settings.get('port-max'));
  t.ok(min >= 1024 && max > min && max <= 65535, `media port range ${min}-${max}`);
  for (const key of ['timeout', 'silent-timeout', 'final-timeout']) {
    t.ok(Number(settings.get(key)) > 0, `${key} set`);
  }
  t.equal(settings.get('log-facility'), 'daemon', 'logs to syslog facility daemon');
});

const missing = missingTool('rtpengine', ['--version'], 'rtpengine-daemon');
if (missing !== undefined) {
  t.fail(missing);
} else {
  t.test('every option in config/rtpengine.conf is an rtpengine 10.5 option', async (t) => {
    const help = run('rtpengine', ['--help']);
    const known = new Set([...`${help.stdout}\n${help.stderr}`.matchAll(/--([a-z0-9-]+)/g)].map((m) => m[1]));
    t.ok(known.has('listen-ng') && known.has('port-min'), 'rtpengine --help lists its options');
    for (const key of settings.keys()) t.ok(known.has(key), `${key} is an rtpengine option`);
  });

  t.test('rtpengine starts with the sample and answers an ng ping', async (t) => {
    // Same file, with the listeners moved to free loopback ports (command-line options override
    // the config file) so the test never collides with a running rtpengine-daemon.
    const ng = await freeUdpPort();
    const cli = await freeTcpPort();
    const http = await freeTcpPort();
    const child = spawn(
      'rtpengine',
      [
        '--foreground',
        '--log-stderr',
        '--config-file',
        CONF,
        '--config-section',
        'rtpengine',
        `--listen-ng=127.0.0.1:${ng}`,
        `--listen-cli=127.0.0.1:${cli}`,
        `--listen-http=127.0.0.1:${http}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = once(child, 'exit');
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    });

    let log = '';
    const started = new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        log += chunk;
        if (log.includes('Startup complete')) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`rtpengine exited (${code ?? signal}):\n${log}`)));
    });
    await started;

    const sock = createSocket('udp4');
    t.teardown(() => sock.close());
    const reply = once(sock, 'message');
    sock.send(Buffer.from('kalem1 d7:command4:pinge'), ng, '127.0.0.1');
    const timer = setTimeout(() => sock.emit('error', new Error(`no ng reply within 5 s:\n${log}`)), 5000);
    const [msg] = (await reply) as [Buffer];
    clearTimeout(timer);
    t.equal(msg.toString(), 'kalem1 d6:result4:ponge', 'ng ping answered with pong');
  });
}
