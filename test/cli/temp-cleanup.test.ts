import t from 'tap';
import { existsSync } from 'node:fs';
import { KalemSandbox } from '../helpers/kalem-cli.js';
import { makeProvisioning } from '../helpers/store.js';
import { runSipp } from '../helpers/sipp.js';

/** The helpers that make temp dirs remove them: tests leave nothing in /tmp. */
t.test('store, sandbox and SIPp helpers remove their temp dirs', async (t) => {
  const p = await makeProvisioning();
  p.provisioning.createAccount({ name: 'acme' });
  t.ok(existsSync(p.path));
  p.close();
  t.notOk(existsSync(p.dir), 'makeProvisioning().close() removes its dir');
  const k = new KalemSandbox();
  k.provisionBasic();
  k.cleanup();
  t.notOk(existsSync(k.dir), 'KalemSandbox.cleanup() removes its dir');
  // Nothing listens on port 9 of 127.0.0.1: SIPp gives up fast, and its files are still removed.
  const run = await runSipp({ scenario: 'uac-options-ping.xml', target: '127.0.0.1:9', transport: 'u1', service: 'x', timeoutS: 8 });
  t.not(run.code, 0);
  t.match(run.dir, /kalem-sipp-/);
  t.notOk(existsSync(run.dir), 'runSipp leaves no kalem-sipp-* dir');
});
