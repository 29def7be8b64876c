import type { Clock, TimerHandle } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { CallTracker, Metrics } from '../api/metrics.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';
import type { CallEndReason, IncomingCall } from '../sip/sip-engine.js';
import type { CallRepository } from '../tenancy/ports.js';
import type { Admission } from './admission.js';
import type { CallRegistry } from './call-registry.js';
import { EchoMedia } from './echo-media.js';

export interface CallSessionDeps {
  clock: Clock;
  log: Logger;
  registry: CallRegistry;
  cdrs: CallRepository;
  rtp: RtpPortAllocator;
  /** Echo agents ring this long before answering. */
  echoRingMs: number;
  metrics: Metrics;
  /** Address to put in our SDP for a call (public address, or the one the INVITE arrived on). */
  sdpAddress(call: IncomingCall): string;
  onEnded?(outcome: { answered: boolean; reason: CallEndReason; durationMs: number }): void;
}

type Accepted = Extract<Admission, { kind: 'accept' }>;

/**
 * One admitted call, from admission to CDR: a small state machine that wires the SIP call to
 * the agent's media and makes sure every way a call can end releases everything once
 * (registry slot, RTP socket, max-duration timer) and writes the CDR.
 */
export class CallSession {
  readonly id = newId('call');
  private media: EchoMedia | undefined;
  private maxTimer: TimerHandle | undefined;
  private answeredAt: number | null = null;
  private readonly startedAt: number;
  private ended = false;
  private hangupBy: 'caller' | 'gateway' | null = null;
  private readonly log: Logger;
  private readonly tracker: CallTracker;

  constructor(
    private readonly call: IncomingCall,
    private readonly admitted: Accepted,
    private readonly deps: CallSessionDeps,
  ) {
    this.startedAt = deps.clock.now();
    this.log = deps.log.child({ callId: call.info.callId, accountId: admitted.account.id, session: this.id });
    this.tracker = deps.metrics.callStarted();
  }

  /** Registers the call (synchronously, so limits hold) and sets it up. Never throws. */
  start(): void {
    const { account, agent, trunk, e164 } = this.admitted;
    this.deps.registry.add({ callId: this.id, accountId: account.id, trunkId: trunk.id });
    this.call.on('ended', (reason) => this.finish(reason));
    try {
      this.deps.cdrs.insert({
        id: this.id,
        accountId: account.id,
        agentId: agent.id,
        trunkId: trunk.id,
        numberE164: e164,
        sipCallId: this.call.info.callId,
        fromUri: this.call.info.fromUri,
        startedAt: new Date(this.startedAt).toISOString(),
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'CDR insert failed');
    }
    this.log.info({ agentId: agent.id, kind: agent.kind, number: e164, trunkId: trunk.id }, 'call admitted');
    this.setup().catch((err: Error) => {
      this.log.error({ err: err.message }, 'call setup failed');
      this.endWith(500);
    });
  }

  private async setup(): Promise<void> {
    const { agent } = this.admitted;
    if (agent.kind !== 'echo') {
      // The Realtime bridge is a later issue; until then only echo agents answer.
      return this.endWith(480, 'Agent Unavailable');
    }
    const offer = this.call.info.sdp;
    if (offer === null) return this.endWith(488, 'SDP offer required');
    if (this.deps.echoRingMs > 0) {
      this.call.progress(180);
      await new Promise<void>((resolve) => this.deps.clock.setTimer(this.deps.echoRingMs, resolve));
      if (this.ended) return;
    }
    const media = await EchoMedia.open(this.deps.rtp, this.deps.sdpAddress(this.call));
    if (this.ended) return media.close();
    this.media = media;
    const answer = media.answer(offer);
    if (!answer.ok) return this.endWith(488, 'Not Acceptable Here', answer.reason);
    this.call.setReinviteHandler((reoffer) => {
      if (reoffer === null) return null;
      const r = media.answer(reoffer);
      if (!r.ok) this.log.info({ why: r.reason }, 're-INVITE refused');
      return r.ok ? r.sdp : null;
    });
    await this.call.answer(answer.sdp);
    this.answeredAt = this.deps.clock.now();
    this.tracker.answered();
    this.maxTimer = this.deps.clock.setTimer(agent.maxCallSeconds * 1000, () => {
      this.log.info({ maxCallSeconds: agent.maxCallSeconds }, 'maximum call duration reached');
      this.hangupBy = 'gateway';
      void this.call.hangup();
    });
    this.log.info({ codec: media.stats.codec }, 'call answered');
  }

  /** Gives up on a call not yet answered with a final status (or ends it if it was). */
  private endWith(status: number, reason?: string, why?: string): void {
    if (this.ended) return;
    if (why) this.log.info({ status, why }, 'call refused after admission');
    if (this.answeredAt === null) this.tracker.rejected(status);
    try {
      if (this.answeredAt === null) this.call.reject(status, reason ? { reason } : {});
      else void this.call.hangup();
    } catch {
      // already ended on the SIP side; finish() runs from the ended event
    }
  }

  private finish(reason: CallEndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.maxTimer?.cancel();
    const stats = this.media?.stats;
    this.media?.close();
    this.deps.registry.remove(this.id);
    if (stats) this.deps.metrics.rtpPackets({ received: stats.received, sent: stats.sent, lost: 0 });
    this.tracker.ended(
      reason === 'cancelled' ? 'cancelled' : reason === 'no-ack' ? 'no_ack' : this.answeredAt !== null ? 'answered' : 'failed',
    );
    const now = this.deps.clock.now();
    if (this.hangupBy === null) this.hangupBy = reason === 'remote-bye' || reason === 'cancelled' ? 'caller' : 'gateway';
    try {
      this.deps.cdrs.finish(this.admitted.account.id, this.id, {
        answeredAt: this.answeredAt === null ? null : new Date(this.answeredAt).toISOString(),
        endedAt: new Date(now).toISOString(),
        endReason: reason,
        hangupBy: this.hangupBy,
        details: stats ? { media: stats } : {},
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'CDR update failed');
    }
    this.log.info({ reason, hangupBy: this.hangupBy, durationMs: now - this.startedAt, media: stats }, 'call ended');
    this.deps.onEnded?.({ answered: this.answeredAt !== null, reason, durationMs: now - this.startedAt });
  }
}
