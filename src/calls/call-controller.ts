import type { Logger } from '../core/logger.js';
import type { IncomingCall, SipEngine } from '../sip/sip-engine.js';
import type { AdmissionControl } from './admission.js';
import type { CallRegistry } from './call-registry.js';
import { CallSession, type CallSessionDeps } from './call-session.js';

/**
 * Receives every call from the SIP engine, asks admission control who may call and which tenant
 * answers, and hands admitted calls to a CallSession. It also owns the "accepting" switch used
 * while draining: new INVITEs then get 503 and OPTIONS pings 503 (the engine answers those).
 */
export class CallController {
  private accepting = true;

  constructor(
    private readonly engine: SipEngine,
    private readonly admission: AdmissionControl,
    private readonly registry: CallRegistry,
    private readonly sessionDeps: CallSessionDeps,
    private readonly log: Logger,
  ) {
    engine.on('call', (call) => this.onCall(call));
  }

  get activeCalls(): number {
    return this.registry.size;
  }

  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
    this.engine.setAccepting(accepting);
  }

  /** Waits for calls in progress to end, up to `timeoutMs`; returns how many were still up. */
  async drain(timeoutMs: number): Promise<number> {
    this.setAccepting(false);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.registry.whenEmpty(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    return this.registry.size;
  }

  private onCall(call: IncomingCall): void {
    let decision;
    try {
      decision = this.admission.decide(call.info, this.accepting);
    } catch (err) {
      // A store error must not leave the caller hanging: 500, and the daemon carries on.
      this.log.error({ err: (err as Error).message, callId: call.info.callId }, 'admission failed');
      decision = { kind: 'reject', status: 500, reason: 'Server Internal Error', why: 'admission error' } as const;
    }
    if (decision.kind === 'reject') {
      this.log.info(
        { callId: call.info.callId, source: call.info.source.address, status: decision.status, why: decision.why },
        'call rejected',
      );
      this.sessionDeps.metrics.callRejected(decision.status);
      try {
        call.reject(decision.status, { reason: decision.reason, ...(decision.headers ? { headers: decision.headers } : {}) });
      } catch {
        // cancelled while we decided
      }
      return;
    }
    new CallSession(call, decision, this.sessionDeps).start();
  }
}
