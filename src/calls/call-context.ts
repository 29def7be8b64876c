/**
 * Which call a piece of work belongs to, for errors nobody caught.
 *
 * A call session runs its setup inside `runInCall`; Node carries that context into everything
 * started from there (sockets, timers, promises, the Realtime WebSocket), so an exception thrown
 * in one of their callbacks, or a promise rejected with no handler, can be traced back to its
 * call. The daemon's process-level handler (app/fault-handlers.ts) then ends that one call
 * instead of the process, and an error that belongs to no call is logged and counted.
 *
 * AsyncLocalStorage is Node's own mechanism for this (no wrapping of every callback by hand).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CallFaultSink {
  readonly callId: string;
  /** Ends the call on an internal error (idempotent); logs and counts it. */
  fault(err: unknown, where: string): void;
}

const storage = new AsyncLocalStorage<CallFaultSink>();

/** Runs `fn` (and everything it starts) as work of this call. */
export function runInCall<T>(sink: CallFaultSink, fn: () => T): T {
  return storage.run(sink, fn);
}

/**
 * Hands an error nobody caught to the call whose work raised it. Returns that call's id, or
 * null when the error belongs to no call.
 */
export function faultCurrentCall(err: unknown, where: string): string | null {
  const sink = storage.getStore();
  if (sink === undefined) return null;
  sink.fault(err, where);
  return sink.callId;
}
