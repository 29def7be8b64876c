import t from 'tap';
import { DrachtioServer, drachtioSkipReason } from '../helpers/drachtio.js';
import { faultIsolationSuite } from '../sipp/fault-isolation-suite.js';

/** An uncaught error while handling one call ends that call, not the daemon: the drachtio engine behind a REAL drachtio-server. */
const notRun = drachtioSkipReason();
if (notRun) {
  t.plan(0, notRun);
} else {
  let server: DrachtioServer | undefined;
  t.before(async () => {
    server = await DrachtioServer.start({ tls: false });
  });
  t.teardown(() => server?.stop());
  faultIsolationSuite(t, () => ({ name: 'drachtio', server: server! }));
}
