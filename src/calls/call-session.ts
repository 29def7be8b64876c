import type { Clock, TimerHandle } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { CallTracker, Metrics } from '../api/metrics.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';
import type { CallEndReason, IncomingCall } from '../sip/sip-engine.js';
import type { CallRepository } from '../tenancy/ports.js';
import type { Admission } from './admission.js';
import type { CallRegistry } from './call-registry.js';
import { AnchoredMedia } from './anchored-media.js';
import { DirectMedia } from './direct-media.js';
import type { MediaAnchorPort } from './media-anchor-port.js';
import { realtimeLeg, type RealtimeLeg } from './leg-endpoint.js';
import { RealtimeBridge, type RealtimeBridgeDeps } from './realtime-bridge.js';
import { CallTools, type CallToolsDeps } from './call-tools.js';
import type { FrameClock } from '../media/frame-clock.js';
import { DEFAULT_CODECS, TELEPHONE_EVENT, type CodecSpec } from '../sdp/codecs.js';
import { SUPPORTED_CODECS } from '../media/codecs/create-codec.js';
import type { RealtimeClient } from '../realtime/realtime-client.js';
import type { ReconnectPolicy } from '../realtime/reconnect-policy.js';
import { isRealtimeError } from '../realtime/realtime-error.js';
import type { TranscriptTurn } from '../tenancy/model.js';
import type { KbLookup } from '../tools/kb-search.js';

/** What realtime agents need beyond the echo's media (absent: realtime agents get 480). */
export interface RealtimeCallDeps {
  readonly frameClock: FrameClock;
  /** Reorder window of the caller's packets (see media/reorder-buffer.ts). */
  readonly reorderMs: number;
  /** The Realtime URL for a model (base URL + ?model=). */
  readonly urlFor: (model: string) => string;
  readonly authScheme: 'bearer' | 'api-key';
  readonly connectTimeoutMs: number;
  readonly reconnect: () => ReconnectPolicy;
  readonly newClient: (log: Logger) => RealtimeClient;
  /** Unseals an account secret ("openai", "webhook"); undefined when it is not set. */
  readonly openSecret: (accountId: string, name: string) => Uint8Array | undefined;
  readonly wipe: (buf: Uint8Array) => void;
  readonly resamplerQuality: number;
  readonly dtmfCollectMs: number;
  readonly apology?: Int16Array;
  readonly webhook: CallToolsDeps['webhook'];
  /** Added-latency observations for metrics and the benchmark. */
  readonly latency?: RealtimeBridgeDeps['latency'];
  /** A dropped Realtime session was restored (metrics). */
  readonly reconnected?: () => void;
  /** Stores the call's transcript sealed (honours the agent's setting). */
  readonly storeTranscript: (accountId: string, callId: string, turns: TranscriptTurn[]) => void;
  /** An event in the account's audit trail (a refused key, a quota error). */
  readonly audit: (accountId: string, action: string, details: Record<string, unknown>) => void;
  /** The knowledge-base lookup of a call to this agent (undefined: the agent has no bases). */
  readonly kb?: { lookupFor(accountId: string, agentId: string, log: Logger): KbLookup | undefined };
}

/** Codecs our Realtime endpoint decodes itself (rtpengine transcodes anything else to one). */
const REALTIME_CODECS: readonly CodecSpec[] = DEFAULT_CODECS.filter(
  (c) => c.name === TELEPHONE_EVENT || (SUPPORTED_CODECS as readonly string[]).includes(c.name),
);

export interface CallSessionDeps {
  clock: Clock;
  log: Logger;
  registry: CallRegistry;
  cdrs: CallRepository;
  rtp: RtpPortAllocator;
  /** Echo agents ring this long before answering. */
  echoRingMs: number;
  /** End answered calls whose caller has sent no RTP for this long (0 = never). */
  mediaTimeoutMs?: number;
  metrics: Metrics;
  /**
   * rtpengine in front of our endpoint (rtpengine.mode managed/external). `rtp` then hands out
   * sockets on 127.0.0.1 for the internal leg. Absent (mode off): the echo faces the carrier.
   */
  anchor?: { port: MediaAnchorPort; rtp: RtpPortAllocator };
  /** Retry-After (s) sent with a 503 when rtpengine is unavailable. */
  retryAfterS?: number;
  /** Told about every media release still running (the daemon awaits them before closing rtpengine). */
  trackRelease?(release: Promise<void>): void;
  /** Address to put in our SDP for a call (public address, or the one the INVITE arrived on). */
  sdpAddress(call: IncomingCall): string;
  onEnded?(outcome: { answered: boolean; reason: CallEndReason; durationMs: number }): void;
  /** Realtime agents (absent: they are refused with 480). */
  realtime?: RealtimeCallDeps;
}

type Accepted = Extract<Admission, { kind: 'accept' }>;

/**
 * One admitted call, from admission to CDR: a small state machine that wires the SIP call to
 * the agent's media and makes sure every way a call can end releases everything once
 * (registry slot, RTP socket, max-duration timer) and writes the CDR.
 */
export class CallSession {
  readonly id = newId('call');
  private media: DirectMedia | AnchoredMedia | undefined;
  private bridge: RealtimeBridge | undefined;
  /** Owned by the call: its lookups in flight are aborted when the call ends. */
  private kb: KbLookup | undefined;
  private maxTimer: TimerHandle | undefined;
  private mediaWatch: TimerHandle | undefined;
  /** A more precise CDR end reason than the SIP one (media-timeout, max-duration). */
  private endCause: string | null = null;
  private answeredAt: number | null = null;
  /** Why the call was refused after admission (status and cause), for the CDR. */
  private refusal: { status: number; why: string | null } | null = null;
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
    const realtime = agent.kind === 'realtime' ? this.deps.realtime : undefined;
    if (agent.kind !== 'echo' && realtime === undefined) return this.endWith(480, 'Agent Unavailable', 'realtime agents are not enabled');
    const offer = this.call.info.sdp;
    if (offer === null) return this.endWith(488, 'SDP offer required');
    // Media first, so an rtpengine that cannot take the call is a 503 before any ringing, and a
    // caller hanging up while it rings exercises the same release path as every other end.
    const sdp = this.deps.anchor ? await this.setupAnchored(this.deps.anchor, offer, realtime) : await this.setupDirect(offer, realtime);
    if (sdp === null || this.ended) return;
    if (realtime !== undefined) {
      // The model's socket opens while the caller hears ringing, so it is ready at 200 OK.
      this.call.progress(180);
      if (!(await this.prepareBridge(realtime))) return;
      if (this.ended) return;
    } else if (this.deps.echoRingMs > 0) {
      this.call.progress(180);
      await new Promise<void>((resolve) => this.deps.clock.setTimer(this.deps.echoRingMs, resolve));
      if (this.ended) return;
    }
    await this.call.answer(sdp);
    this.answeredAt = this.deps.clock.now();
    this.tracker.answered();
    this.maxTimer = this.deps.clock.setTimer(agent.maxCallSeconds * 1000, () => {
      this.log.info({ maxCallSeconds: agent.maxCallSeconds }, 'maximum call duration reached');
      this.hangupBy = 'gateway';
      void this.call.hangup();
    });
    this.watchMedia();
    this.bridge?.start();
    this.log.info({ codec: this.media?.stats.codec, anchored: this.deps.anchor !== undefined, model: this.bridge?.audioFormat }, 'call answered');
  }

  /** Builds the bridge on the negotiated codec and opens the Realtime session; false when the call was refused. */
  private async prepareBridge(realtime: RealtimeCallDeps): Promise<boolean> {
    const media = this.media!;
    const codec = media.negotiatedCodec;
    const leg = media.endpoint as RealtimeLeg;
    const { account, agent } = this.admitted;
    const log = this.log.child({ component: 'realtime' });
    const endCall = (cause: string): void => {
      if (this.ended) return;
      this.hangupBy = 'gateway';
      this.endCause ??= cause;
      void this.call.hangup().catch(() => undefined);
    };
    this.kb = realtime.kb?.lookupFor(account.id, agent.id, log);
    const tools = new CallTools({
      clock: this.deps.clock,
      log,
      accountId: account.id,
      callId: this.id,
      refer: (target) => this.call.refer(target),
      transferred: () => endCall('transferred'),
      openWebhookSecret: () => realtime.openSecret(account.id, 'webhook'),
      wipe: realtime.wipe,
      webhook: realtime.webhook,
      ...(this.kb ? { kb: this.kb } : {}),
    });
    const bridge = new RealtimeBridge({
      agent,
      endpoint: leg.rtp,
      codec: codec!.name,
      clock: this.deps.clock,
      log,
      newClient: () => realtime.newClient(log),
      connect: { url: realtime.urlFor(agent.model), authScheme: realtime.authScheme, timeoutMs: realtime.connectTimeoutMs },
      openKey: () => {
        const key = realtime.openSecret(account.id, 'openai');
        if (key === undefined) throw Object.assign(new Error('the account has no "openai" secret'), { noKey: true });
        return key;
      },
      wipe: realtime.wipe,
      reconnect: realtime.reconnect(),
      tools,
      hangup: endCall,
      onFirstAudio: () => this.tracker.firstAgentAudio(),
      dtmfCollectMs: realtime.dtmfCollectMs,
      resamplerQuality: realtime.resamplerQuality,
      ...(realtime.apology ? { apology: realtime.apology } : {}),
      ...(realtime.latency ? { latency: realtime.latency } : {}),
      ...(realtime.reconnected ? { onReconnected: realtime.reconnected } : {}),
    });
    this.bridge = bridge;
    try {
      await bridge.prepare();
      return true;
    } catch (err) {
      // Whatever stops the model (a refused key, quota, the API down), the carrier gets a 503 so
      // it can route the call elsewhere; the account's audit trail says why.
      const e = err as Error & { noKey?: boolean };
      const kind = isRealtimeError(err) ? err.kind : e.noKey ? 'no_key' : 'error';
      const details = isRealtimeError(err) ? { kind, status: err.status ?? null, serverCode: err.serverCode ?? null } : { kind };
      this.endCause = `realtime-${kind}`;
      try {
        realtime.audit(account.id, 'call.realtime_refused', { callId: this.id, ...details });
      } catch (auditErr) {
        this.log.error({ err: (auditErr as Error).message }, 'audit write failed');
      }
      this.endWith(503, 'Service Unavailable', `realtime session: ${kind}`, { 'Retry-After': String(this.deps.retryAfterS ?? 30) });
      return false;
    }
  }

  /**
   * Media-inactivity timeout: a caller that should be sending RTP and has not for
   * `mediaTimeoutMs` is gone (its BYE lost, its gateway crashed); the call is ended with BYE
   * rather than holding a slot until the maximum duration. Checked a few times per timeout.
   */
  private watchMedia(): void {
    const timeout = this.deps.mediaTimeoutMs ?? 0;
    if (timeout <= 0) return;
    const every = Math.max(100, Math.min(5000, Math.floor(timeout / 4)));
    const check = (): void => {
      if (this.ended || !this.media) return;
      const silent = this.media.silentForMs();
      if (silent >= timeout) {
        this.log.warn({ silentMs: Math.round(silent) }, 'no RTP from the caller: ending the call');
        this.hangupBy = 'gateway';
        this.endCause = 'media-timeout';
        void this.call.hangup();
        return;
      }
      this.mediaWatch = this.deps.clock.setTimer(every, check);
    };
    this.mediaWatch = this.deps.clock.setTimer(every, check);
  }

  /** The echo endpoint answers the carrier directly (rtpengine.mode = "off"). */
  private async setupDirect(offer: string, realtime: RealtimeCallDeps | undefined): Promise<string | null> {
    const media = await DirectMedia.open(
      this.deps.rtp,
      this.deps.sdpAddress(this.call),
      realtime ? { endpoint: realtimeLeg({ frameClock: realtime.frameClock, reorderMs: realtime.reorderMs }), codecs: REALTIME_CODECS } : {},
    );
    if (this.ended) {
      media.close();
      return null;
    }
    this.media = media;
    const answer = media.answer(offer);
    if (!answer.ok) {
      this.endWith(488, 'Not Acceptable Here', answer.reason);
      return null;
    }
    this.call.setReinviteHandler((reoffer) => {
      if (reoffer === null) return null;
      const r = media.answer(reoffer);
      if (!r.ok) this.log.info({ why: r.reason }, 're-INVITE refused');
      return r.ok ? r.sdp : null;
    });
    return answer.sdp;
  }

  /** carrier offer → rtpengine → our endpoint on 127.0.0.1 → rtpengine → the carrier's answer. */
  private async setupAnchored(
    anchor: NonNullable<CallSessionDeps['anchor']>,
    offer: string,
    realtime: RealtimeCallDeps | undefined,
  ): Promise<string | null> {
    const info = this.call.info;
    const media = await AnchoredMedia.open(
      anchor.rtp,
      anchor.port,
      {
        callId: info.callId,
        fromTag: headerTag(info.header('from')) ?? 'kalem-no-from-tag',
        // rtpengine only needs a tag that stays the same for the life of the call.
        toTag: this.id,
        carrierSource: info.source.address,
      },
      this.log,
      realtime ? { endpoint: realtimeLeg({ frameClock: realtime.frameClock, reorderMs: realtime.reorderMs }), codecs: REALTIME_CODECS } : {},
    );
    this.media = media;
    if (this.ended) {
      this.releaseMedia();
      return null;
    }
    const answer = await media.answer(offer);
    if (!answer.ok) {
      const headers = answer.retryable ? { 'Retry-After': String(this.deps.retryAfterS ?? 30) } : undefined;
      this.endWith(answer.status, answer.reason, answer.why, headers);
      return null;
    }
    this.call.setReinviteHandler((reoffer) => {
      const sdp = media.reinvite(reoffer);
      if (sdp === null) this.log.info('re-INVITE refused');
      return sdp;
    });
    return answer.sdp;
  }

  /** The SIP Call-ID this session serves. */
  get sipCallId(): string {
    return this.call.info.callId;
  }

  /**
   * rtpengine died and forgot this call: there is no media any more. End it (BYE, or 503 while
   * it is still being set up) without a `delete` for a call rtpengine no longer has.
   */
  mediaLost(): void {
    if (this.ended) return;
    if (this.media instanceof AnchoredMedia) this.media.mediaLost();
    this.log.warn('rtpengine lost the media of this call: ending it');
    this.hangupBy = 'gateway';
    this.endWith(503, 'Service Unavailable', 'rtpengine died', { 'Retry-After': String(this.deps.retryAfterS ?? 30) });
  }

  /** Gives up on a call not yet answered with a final status (or ends it if it was). */
  private endWith(status: number, reason?: string, why?: string, headers?: Record<string, string>): void {
    if (this.ended) return;
    if (this.answeredAt === null) this.refusal = { status, why: why ?? reason ?? null };
    // A 5xx after admission is the gateway's own failure (rtpengine, the model): operators need it.
    if (why) this.log[status >= 500 ? 'warn' : 'info']({ status, why }, this.answeredAt === null ? 'call refused after admission' : 'ending call');
    if (this.answeredAt === null) this.tracker.rejected(status);
    try {
      if (this.answeredAt === null) this.call.reject(status, { ...(reason ? { reason } : {}), ...(headers ? { headers } : {}) });
      else void this.call.hangup();
    } catch {
      // Already ended on the SIP side (finish() runs from the ended event), or answered a moment
      // ago (the 200 is out, answeredAt not yet set): then it needs a BYE.
      this.call.hangup().catch(() => undefined);
    }
  }

  private finish(reason: CallEndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.maxTimer?.cancel();
    this.mediaWatch?.cancel();
    const stats = this.media?.stats;
    const bridge = this.bridge;
    const realtime = bridge?.summary();
    const transcript = bridge?.transcript() ?? [];
    if (bridge) void bridge.close().catch((err: Error) => this.log.warn({ err: err.message }, 'realtime close failed'));
    this.kb?.close();
    this.releaseMedia();
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
        endReason: this.endCause ?? reason,
        hangupBy: this.hangupBy,
        details: { ...(stats ? { media: stats } : {}), ...(realtime ? { realtime } : {}), ...(this.refusal ? { refusal: this.refusal } : {}) },
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'CDR update failed');
    }
    if (bridge && transcript.length > 0 && this.admitted.agent.storeTranscripts) {
      try {
        this.deps.realtime?.storeTranscript(this.admitted.account.id, this.id, transcript);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'transcript not stored');
      }
    }
    this.log.info({ reason, hangupBy: this.hangupBy, durationMs: now - this.startedAt, media: stats }, 'call ended');
    this.deps.onEnded?.({ answered: this.answeredAt !== null, reason, durationMs: now - this.startedAt });
  }

  /** Closes our endpoint and, behind rtpengine, deletes the call there (once; see AnchoredMedia). */
  private releaseMedia(): void {
    const media = this.media;
    if (!media) return;
    if (media instanceof DirectMedia) {
      media.close();
      return;
    }
    this.deps.trackRelease?.(media.release());
  }
}

/** The `tag` parameter of a From/To header value, if any. */
export function headerTag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const afterUri = value.includes('>') ? value.slice(value.lastIndexOf('>') + 1) : value;
  return /;\s*tag\s*=\s*([^;,\s]+)/i.exec(afterUri)?.[1];
}
