import t from 'tap';
import { withSharedDrachtio } from '../helpers/drachtio.js';
import { sipToolsSuite } from '../realtime-e2e/sip-tools-suite.js';

/**
 * A Realtime agent (OpenAI Realtime STAND-IN, not OpenAI) behind the drachtio engine and a REAL
 * drachtio-server: transfer_call (REFER through drachtio-server, NOTIFY followed, BYE) and
 * end_call, the suite the embedded engine runs (test/realtime-e2e/sip-tools-suite.ts).
 */
withSharedDrachtio(t, { tls: false }, (server) => {
  sipToolsSuite(t, () => ({ name: 'drachtio', server: server() }));
});

