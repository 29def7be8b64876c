import t from 'tap';
import { withSharedDrachtio } from '../helpers/drachtio.js';
import { faultIsolationSuite } from '../sipp/fault-isolation-suite.js';

/** An uncaught error while handling one call ends that call, not the daemon: the drachtio engine behind a REAL drachtio-server. */
withSharedDrachtio(t, { tls: false }, (server) => {
  faultIsolationSuite(t, () => ({ name: 'drachtio', server: server() }));
});

