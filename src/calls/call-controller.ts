import type { Logger } from '../core/logger.js';
import type { IncomingCall, SipEngine } from '../sip/sip-engine.js';
import type { AdmissionControl } from './admission.js';
import type { CallRegistry } from './call-registry.js';
import { CallSession, type CallSessionDeps } from './call-session.js';

/** What the controller needs to know about the database (store/store-health.ts implements it). */
export interface StoreCondition {
  /** The file is damaged: every call is refused with 503 until a restart. */
  readonly damaged: boolean;
  /** Records a store error; true when it means the database failed. */
  report(err: unknown): boolean;
}

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
    private readonly store?: StoreCondition,
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
    // 503, not 500: a carrier fails over to another gateway on 503 (RFC 3261 §21.5.4).
    const unavailable = (cause: 'store_failed' | 'admission_error', why: string) =>
      ({
        kind: 'reject',
        status: 503,
        reason: 'Service Unavailable',
        cause,
        accountId: null,
        why,
        headers: { 'Retry-After': String(this.sessionDeps.retryAfterS ?? 30) },
      }) as const;
    if (this.store?.damaged) {
      decision = unavailable('store_failed', 'database damaged');
    } else {
      try {
        decision = this.admission.decide(call.info, this.accepting);
      } catch (err) {
        // A store error must not leave the caller hanging, and the daemon carries on.
        const storeFailed = this.store?.report(err) ?? false;
        this.log.error({ err: (err as Error).message, callId: call.info.callId, storeFailed }, 'admission failed');
        decision = storeFailed ? unavailable('store_failed', 'database failed') : unavailable('admission_error', 'admission error');
      }
    }
    if (decision.kind === 'reject') {
      this.log.info(
        { callId: call.info.callId, source: call.info.source.address, status: decision.status, why: decision.why, accountId: decision.accountId },
        'call rejected',
      );
      this.sessionDeps.metrics.callRejected(decision.status, { accountId: decision.accountId, cause: decision.cause });
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
