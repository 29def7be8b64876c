import t from 'tap';
import { withSharedDrachtio } from '../helpers/drachtio.js';
import { sdesEchoTest } from '../media-e2e/srtp-echo-suite.js';

/**
 * baresip over TLS + SRTP (SDES) to the echo agent, through a REAL drachtio-server (DRACHTIO_BIN)
 * that terminates TLS (throwaway certificate, DRACHTIO_SUPPORT_BEST_EFFORT_TLS=1 so its 200 OK
 * carries a Contact baresip can send ACK and BYE to) and the drachtio engine behind it: the same
 * test the embedded engine runs (test/media-e2e/srtp-echo-suite.ts).
 */
withSharedDrachtio(t, {}, (server) => {
  sdesEchoTest(t, () => ({ name: 'drachtio', server: server() }));
});

