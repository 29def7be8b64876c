import t from 'tap';
import { withSharedDrachtio } from '../helpers/drachtio.js';
import { limitsDrainSuite } from '../sipp/limits-drain-suite.js';

/**
 * Admission limits, CANCEL while ringing, drain and metrics (test/sipp/limits-drain-suite.ts, the
 * suite the embedded engine runs) on the drachtio engine behind a REAL drachtio-server.
 */
withSharedDrachtio(t, {}, (server) => {
  limitsDrainSuite(t, () => ({ name: 'drachtio', server: server() }));
  t.test('drachtio-server is still running after the suite', async (t) => {
    t.ok(server().running, `drachtio-server alive (exit: ${JSON.stringify(server().exit)})`);
  });
});

