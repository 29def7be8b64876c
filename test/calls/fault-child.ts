// Run by fault-handlers.test.ts in its own process (the test runner keeps its own handlers for
// uncaught errors). Installs the daemon's fault handlers, raises errors nobody catches inside
// two calls' contexts and outside any call, then reports what happened as one JSON line.
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import { Metrics } from '../../src/api/metrics.js';
import { runInCall } from '../../src/calls/call-context.js';
import { createLogger } from '../../src/core/logger.js';
import { installFaultHandlers } from '../../src/app/fault-handlers.js';

const logs: Array<Record<string, unknown>> = [];
const log = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => (logs.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }) });
const metrics = new Metrics({ defaultMetrics: false });
installFaultHandlers(log, metrics);
const faults: Array<{ callId: string; where: string; message: string }> = [];
const sink = (callId: string) => ({
  callId,
  fault: (err: unknown, where: string) => {
    metrics.internalError('call');
    faults.push({ callId, where, message: (err as Error).message });
  },
});

let pending = 3;
const done = async (): Promise<void> => {
  if (--pending > 0) return;
  const body = (await metrics.render()).body;
  process.stdout.write(JSON.stringify({ faults, logs: logs.map((l) => l['msg']), metrics: body.split('\n').filter((l) => l.startsWith('kalem_internal_errors_total')) }) + '\n');
};

// Call A: a socket's message handler throws (an uncaught exception in a callback).
runInCall(sink('call_A'), () => {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1', () => {
    s.on('message', () => {
      setImmediate(() => {
        s.close();
        void done();
      });
      throw new Error('handler threw');
    });
    s.send('x', s.address().port, '127.0.0.1');
  });
});
// Call B: an async handler rejects with nobody listening.
runInCall(sink('call_B'), () => {
  setTimeout(() => {
    void (async () => {
      await null;
      throw new Error('async handler rejected');
    })();
    setTimeout(() => void done(), 20);
  }, 5);
});
// No call: a timer of the daemon's own throws.
setTimeout(() => {
  setTimeout(() => void done(), 20);
  throw new Error('daemon timer threw');
}, 10);
