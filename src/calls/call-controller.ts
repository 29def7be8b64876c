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
  /** Sessions by our call id (rtpengine's call-id too), to end the ones whose media rtpengine lost. */
  private readonly sessions = new Map<string, CallSession>();
  /** Media releases (rtpengine deletes) still running. */
  private readonly releases = new Set<Promise<void>>();

  constructor(
    private readonly engine: SipEngine,
    private readonly admission: AdmissionControl,
    private readonly registry: CallRegistry,
    private sessionDeps: CallSessionDeps,
    private readonly log: Logger,
  ) {
    engine.on('call', (call) => this.onCall(call));
    const track = sessionDeps.trackRelease;
    this.sessionDeps = {
      ...sessionDeps,
      trackRelease: (p) => {
        track?.(p);
        this.releases.add(p);
        void p.finally(() => this.releases.delete(p));
      },
    };
  }

  /**
   * rtpengine died and forgot these calls (our call ids, which are rtpengine's): each is ended
   * (BYE, or 503 while being set up) and its resources are freed; nothing is deleted in an
   * rtpengine that no longer has it.
   */
  mediaLost(callIds: readonly string[]): number {
    let ended = 0;
    for (const id of callIds) {
      const session = this.sessions.get(id);
      if (!session) continue;
      session.mediaLost();
      ended++;
    }
    return ended;
  }

  /** Resolves once every media release started so far (rtpengine `delete`) has settled. */
  async mediaReleased(): Promise<void> {
    while (this.releases.size > 0) await Promise.allSettled([...this.releases]);
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
    const session = new CallSession(call, decision, this.sessionDeps);
    this.sessions.set(session.id, session);
    call.on('ended', () => this.sessions.delete(session.id));
    session.start();
  }
}
