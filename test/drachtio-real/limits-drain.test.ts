import t from 'tap';
import { DrachtioServer, drachtioSkipReason } from '../helpers/drachtio.js';
import { limitsDrainSuite } from '../sipp/limits-drain-suite.js';

/**
 * Admission limits, CANCEL while ringing, drain and metrics (test/sipp/limits-drain-suite.ts, the
 * suite the embedded engine runs) on the drachtio engine behind a REAL drachtio-server.
 */
const notRun = drachtioSkipReason();
if (notRun) {
  t.plan(0, notRun);
} else {
  let server: DrachtioServer | undefined;
  t.before(async () => {
    server = await DrachtioServer.start();
  });
  t.teardown(() => server?.stop());
  limitsDrainSuite(t, () => ({ name: 'drachtio', server: server! }));
  t.test('drachtio-server is still running after the suite', async (t) => {
    t.ok(server!.running, `drachtio-server alive (exit: ${JSON.stringify(server!.exit)})`);
  });
}
