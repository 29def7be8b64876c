import type { HealthChecks } from '../api/health.js';
import type { SipEngine } from '../sip/sip-engine.js';
import type { NonBlockingWriter } from '../store/nonblocking-writer.js';
import type { StoreHealth } from '../store/store-health.js';
import { rtpenginePing } from './doctor.js';

/**
 * What the daemon's /healthz reports: SIP listeners, the database (a real query, and whether
 * call-path writes are waiting on a lock), draining, and rtpengine when it has an ng address.
 */
export function daemonHealthChecks(deps: {
  engine: SipEngine;
  store: StoreHealth;
  writer: NonBlockingWriter;
  draining: () => boolean;
  rtpengineNg: string | null;
}): HealthChecks {
  const { engine, store, writer, rtpengineNg } = deps;
  return {
    sip: async () => {
      // An engine with a link to keep alive (drachtio) reports the live link, not its
      // connect-time listeners.
      const live = engine.health?.();
      if (live) return live;
      const l = engine.listening();
      return l.length > 0
        ? { ok: true, detail: l.map((x) => `${x.transport} ${x.address}:${x.port}`).join(', ') }
        : { ok: false, detail: 'no SIP listener open' };
    },
    database: async () => {
      const probe = store.probe();
      if (!probe.ok) return probe;
      const queued = writer.pending;
      return { ok: true, detail: queued > 0 ? `${probe.detail}; ${queued} call-path writes waiting for the write lock` : probe.detail };
    },
    accepting: async () => (deps.draining() ? { ok: false, detail: 'draining: new calls are refused' } : { ok: true }),
    ...(rtpengineNg ? { rtpengine: async () => ({ ok: true, detail: `pong in ${await rtpenginePing(rtpengineNg, 1000)} ms` }) } : {}),
  };
}
