import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';

t.test('SIGHUP reload applies log.level and names the settings that need a restart', async (t) => {
  const gw = await new TestGateway(loopbackConfig('', '[daemon]\nmax_calls = 10')).start();
  t.teardown(() => gw.stop());
  const before = readFileSync(gw.configPath, 'utf8');
  writeFileSync(gw.configPath, before.replace('max_calls = 10', 'max_calls = 20').replace('level = "debug"', 'level = "info"'));
  await gw.daemon.reload();
  const warn = gw.records('changed settings need a restart to take effect');
  t.equal(warn.length, 1);
  t.same(warn[0]!.settings, ['daemon.max_calls'], 'log.level is applied, max_calls is named');
  const n = gw.logs.length;
  await gw.daemon.reload();
  t.notOk(gw.logs.slice(n).some((l) => l.includes('"level":20')), 'debug lines are gone: the new level applies');

  writeFileSync(gw.configPath, before + '\n[nonsense]\nx = 1\n');
  await gw.daemon.reload();
  t.equal(gw.records('config no longer loads; nothing was reloaded from it').length, 1);
  t.ok(gw.daemon.sipEngine.listening().length > 0, 'the daemon keeps running');
});
