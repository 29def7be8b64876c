import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DrachtioServer, drachtioSkipReason } from '../helpers/drachtio.js';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { KALEM_BIN } from '../helpers/kalem-cli.js';
import { runSipp } from '../helpers/sipp.js';

/**
 * Two gateway processes (`kalem serve`, real child processes) on one box, attached to one REAL
 * drachtio-server (DRACHTIO_BIN) and one database: drachtio-server spreads the INVITEs across
 * both; draining one (SIGTERM) leaves the other taking every new call while the drained one's
 * calls finish; killing one (SIGKILL) ends only the calls it carried.
 *
 * Media: rtpengine.mode = "off" and a separate [media] port range per process, so each echo agent
 * faces SIPp directly (one rtpengine per gateway process is the production shape, see README).
 */
const notRun = drachtioSkipReason();
const ECHO = '+14155550100';

class GatewayProcess {
  private out = '';
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  constructor(readonly name: string, readonly configPath: string) {}

  async start(): Promise<void> {
    this.out = '';
    const child = spawn(process.execPath, [KALEM_BIN, '-c', this.configPath, 'serve'], {
      env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const take = (d: Buffer): void => {
        this.out += d.toString('utf8');
        if (this.out.includes('"msg":"kalem started"')) resolve();
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
      void this.exited.then((code) => reject(new Error(`${this.name} exited (${code}) before it started:\n${this.out.slice(-3000)}`)));
    });
  }

  /** Everything it logged so far. */
  log(): string {
    return this.out;
  }

  /** How many calls this process has answered so far. */
  answered(): number {
    return this.out.split('\n').filter((l) => l.includes('"msg":"call answered"')).length;
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  whenExited(): Promise<number | null> {
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      this.child.kill('SIGTERM'); // a second SIGTERM skips the drain
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** Resolves when `check` holds, polling every 50 ms (a child's log has no event here). */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (notRun) {
  t.plan(0, notRun);
} else {
  t.test('two gateways behind one drachtio-server share the calls, drain and fail alone', async (t) => {
    const server = await DrachtioServer.start({ tls: false });
    t.teardown(() => server.stop());
    // One database and master key; the first config is the one TestGateway writes.
    const base = new TestGateway(
      loopbackConfig('', '[log]\nlevel = "debug"\n[daemon]\ndrain_timeout_ms = 30000\n[rtpengine]\nmode = "off"\n', { name: 'drachtio', server }),
    );
    t.teardown(() => base.stop());
    await base.provision((app) => {
      const p = app.provisioning;
      p.createAccount({ name: 'acme' });
      p.createAgent('acme', { name: 'echo', kind: 'echo' });
      p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
      p.addNumbers('acme', 'echo', [ECHO]);
    });
    const configB = join(base.dir, 'kalem-b.toml');
    writeFileSync(configB, readFileSync(base.configPath, 'utf8').replace('port_min = 40000\nport_max = 40999', 'port_min = 41000\nport_max = 41999'));
    const a = new GatewayProcess('gateway A', base.configPath);
    const b = new GatewayProcess('gateway B', configB);
    t.teardown(() => a.stop());
    t.teardown(() => b.stop());
    await a.start();
    await b.start();

    const target = `127.0.0.1:${server.sipPort}`;
    const calls = (n: number, pauseMs: number) =>
      Promise.all(Array.from({ length: n }, () => runSipp({ scenario: 'uac-invite-bye.xml', target, transport: 'u1', service: ECHO, pauseMs })));

    // ── spread ──
    const spread = await calls(4, 500);
    t.same(spread.map((r) => r.code), [0, 0, 0, 0], 'four calls answered');
    t.ok(a.answered() >= 1 && b.answered() >= 1, `drachtio-server spread them over both gateways (A ${a.answered()}, B ${b.answered()})`);
    t.equal(a.answered() + b.answered(), 4, 'each call answered once');

    // ── drain B: its call finishes, every new call goes to A ──
    const longCalls = calls(2, 4000);
    await until('a long call on each gateway', () => a.answered() + b.answered() === 6);
    t.ok(a.answered() === 3 && b.answered() === 3, 'one long call on each');
    b.signal('SIGTERM');
    await until('B draining', () => b.log().includes('draining: drachtio-server sends new calls to other gateways'));
    const aBefore = a.answered();
    const during = await calls(3, 200);
    t.same(during.map((r) => r.code), [0, 0, 0], 'new calls while B drains are answered');
    t.equal(a.answered() - aBefore, 3, 'all of them by A');
    t.equal(b.answered(), 3, 'none by B');
    t.same((await longCalls).map((r) => r.code), [0, 0], 'the long calls, B\'s included, ended normally');
    t.equal(await b.whenExited(), 0, 'B exited cleanly once its call had ended');

    // ── kill A: only its calls end ──
    await b.start();
    const aAtKill = a.answered();
    const kill = calls(4, 6000);
    await until('four calls up', () => a.answered() + b.answered() === aAtKill + 4);
    const onA = a.answered() - aAtKill;
    const onB = b.answered();
    t.ok(onA >= 1 && onB >= 1, `calls on both (A ${onA}, B ${onB})`);
    a.signal('SIGKILL');
    await a.whenExited();
    const results = await kill;
    t.equal(results.filter((r) => r.code === 0).length, onB, "B's calls ended normally");
    t.equal(results.filter((r) => r.code !== 0).length, onA, "A's calls, and only those, failed");
    const after = await calls(2, 200);
    t.same(after.map((r) => r.code), [0, 0], 'B takes the new calls');
    t.ok(server.running, 'drachtio-server is still running');
  });
}
