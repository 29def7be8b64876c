import t from 'tap';
import { EMBEDDED } from '../helpers/gateway.js';
import { faultIsolationSuite } from './fault-isolation-suite.js';

/** An uncaught error while handling one call ends that call, not the daemon (embedded engine). */
faultIsolationSuite(t, () => EMBEDDED);
