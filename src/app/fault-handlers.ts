/**
 * The daemon's last line: an exception or a promise rejection nobody caught must end one call,
 * never the daemon with every other call on it. Node's default is to exit on both.
 *
 * An error raised by a call's own work (see calls/call-context.ts) is handed to that call, which
 * logs it with its stack, counts it (`kalem_internal_errors_total{scope="call"}`) and ends
 * itself (500 before answer, BYE after). An error that belongs to no call is logged and counted
 * (`scope="process"`), and the daemon carries on: what failed was one event's handler, and the
 * calls in progress matter more than a restart would.
 */
import { faultCurrentCall } from '../calls/call-context.js';
import type { Metrics } from '../api/metrics.js';
import type { Logger } from '../core/logger.js';

/** Installs the handlers on `proc`; returns a function that removes them. */
export function installFaultHandlers(log: Logger, metrics: Pick<Metrics, 'internalError'>, proc: NodeJS.Process = process): () => void {
  const handle = (err: unknown, origin: string): void => {
    try {
      if (faultCurrentCall(err, origin) !== null) return;
      metrics.internalError('process');
      const e = err instanceof Error ? err : new Error(String(err));
      log.error({ origin, err: e.message, stack: e.stack }, 'internal error outside any call: logged; the daemon carries on');
    } catch {
      // Reporting must never throw from here (that would end the process after all).
    }
  };
  const onRejection = (reason: unknown): void => handle(reason, 'unhandledRejection');
  const onException = (err: Error, origin: string): void => handle(err, origin);
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
