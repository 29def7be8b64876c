import t from 'tap';
import { DrachtioServer, drachtioSkipReason } from '../helpers/drachtio.js';
import { sipToolsSuite } from '../realtime-e2e/sip-tools-suite.js';

/**
 * A Realtime agent (OpenAI Realtime STAND-IN, not OpenAI) behind the drachtio engine and a REAL
 * drachtio-server: transfer_call (REFER through drachtio-server, NOTIFY followed, BYE) and
 * end_call, the suite the embedded engine runs (test/realtime-e2e/sip-tools-suite.ts).
 */
const notRun = drachtioSkipReason();
if (notRun) {
  t.plan(0, notRun);
} else {
  let server: DrachtioServer | undefined;
  t.before(async () => {
    server = await DrachtioServer.start({ tls: false });
  });
  t.teardown(() => server?.stop());
  sipToolsSuite(t, () => ({ name: 'drachtio', server: server! }));
}
