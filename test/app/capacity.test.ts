import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { capacityProblems } from '../../src/app/capacity.js';
import { validateConfig } from '../../src/config/load.js';

t.test('the daemon refuses to start when the RTP port range cannot hold max_calls', async (t) => {
  // loopbackConfig gives [media] 40000-40999: 500 even ports.
  const gw = new TestGateway(loopbackConfig('', '[daemon]\nmax_calls = 600'));
  t.teardown(() => gw.stop());
  await t.rejects(gw.start(), { code: 'KALEM_ERR_CONFIG_INVALID', message: /holds 500 RTP ports, fewer than daemon\.max_calls \(600\)/ });
});

t.test('the open-files limit is checked against max_calls', async (t) => {
  const limits = join(mkdtempSync(join(tmpdir(), 'kalem-limits-')), 'limits');
  t.teardown(() => rmSync(dirname(limits), { recursive: true, force: true }));
  writeFileSync(limits, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n');
  const config = validateConfig({ daemon: { max_calls: 500 } });
  const problems = capacityProblems(config, limits);
  t.equal(problems.length, 1);
  t.match(problems[0], /open-files limit is 1024, daemon\.max_calls 500 needs 2256: raise LimitNOFILE/);
  t.same(capacityProblems(validateConfig({ daemon: { max_calls: 100 } }), limits), []);
});
