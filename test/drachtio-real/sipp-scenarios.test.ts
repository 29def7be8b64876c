import t from 'tap';
import { withSharedDrachtio } from '../helpers/drachtio.js';
import { scenarioSuite } from '../sipp/scenario-suite.js';

/**
 * The SIPp suite (test/sipp/scenario-suite.ts, the same one the embedded engine runs) against the
 * drachtio engine attached to a REAL drachtio-server (DRACHTIO_BIN), over UDP and TCP.
 */
withSharedDrachtio(t, {}, (server) => {
  scenarioSuite(t, () => ({ name: 'drachtio', server: server() }));
  t.test('drachtio-server is still running after the suite', async (t) => {
    t.ok(server().running, `drachtio-server alive (exit: ${JSON.stringify(server().exit)})`);
  });
});

