import t from 'tap';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { KalemSandbox } from '../helpers/kalem-cli.js';

/** A port free on 127.0.0.1 right now, for UDP and TCP (the daemon needs fixed ones here). */
async function freeFixedPort(): Promise<number> {
  for (;;) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as { port: number };
    await new Promise<void>((r) => s.close(() => r()));
    const u = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => (ok ? u.close(() => r()) : r()));
    if (ok) return port;
  }
}

t.test('doctor on a running gateway: its own daemon holding the ports is recognised, not a failure', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  const sipPort = await freeFixedPort();
  const apiPort = await freeFixedPort();
  writeFileSync(
    k.configPath,
    `[store]\npath = ${JSON.stringify(k.dbPath)}\n[keys]\nmaster_key_file = ${JSON.stringify(k.keyPath)}\n` +
      `[sip]\nlisten_address = "127.0.0.1"\nudp_port = ${sipPort}\ntcp_port = ${sipPort}\ntls_port = -1\n[api]\nport = ${apiPort}\n[rtpengine]\nmode = "off"\n`,
  );
  k.provisionBasic();
  const daemon = k.spawn(['serve']);
  const exited = once(daemon, 'exit');
  t.teardown(async () => {
    if (daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await exited;
    }
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    daemon.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('"kalem started"')) resolve();
    });
    daemon.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}`)));
  });
  const r = k.run(['--json', 'doctor']);
  const report = JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
  const ports = report.checks.find((c) => c.name === 'ports')!;
  t.equal(ports.status, 'ok', ports.detail);
  t.match(ports.detail, `held by the running kalem daemon (pid ${daemon.pid})`);
  t.match(ports.detail, `udp 127.0.0.1:${sipPort} (sip.udp_port)`);
  t.match(ports.detail, `tcp 127.0.0.1:${apiPort} (api.port)`);
  const media = report.checks.find((c) => c.name === 'media-ports')!;
  t.match(media.detail, /rtpengine|\[media\]|media\.port_min/, 'doctor says which range faces the carrier');
  t.match(media.detail, /udp 20000-29999 \(media\.port_min\.\.port_max\)/, 'with rtpengine off the carrier reaches [media] itself');
});
