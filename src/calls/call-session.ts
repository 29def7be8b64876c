import type { Clock, TimerHandle } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { CallTracker, Metrics } from '../api/metrics.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';
import type { CallEndReason, IncomingCall } from '../sip/sip-engine.js';
import type { CdrWriter } from '../tenancy/ports.js';
import type { Admission } from './admission.js';
import type { CallRegistry } from './call-registry.js';
import { AnchoredMedia } from './anchored-media.js';
import { DirectMedia } from './direct-media.js';
import type { MediaAnchorPort } from './media-anchor-port.js';
import { realtimeLeg, type RealtimeLeg } from './leg-endpoint.js';
import { RealtimeBridge, type RealtimeBridgeDeps } from './realtime-bridge.js';
import { CallTools, type CallToolsDeps } from './call-tools.js';
import { CallScope } from './call-scope.js';
import { checkOffer } from './offer-limits.js';
import { runInCall } from './call-context.js';
import { MediaMetricsFeed, REPORT_EVERY_MS } from './media-metrics.js';
import type { FrameClock } from '../media/frame-clock.js';
import { DEFAULT_CODECS, TELEPHONE_EVENT, type CodecSpec } from '../sdp/codecs.js';
import { SUPPORTED_CODECS } from '../media/codecs/create-codec.js';
import type { RealtimeClient } from '../realtime/realtime-client.js';
import type { ReconnectPolicy } from '../realtime/reconnect-policy.js';
import { isRealtimeError } from '../realtime/realtime-error.js';
import type { TranscriptTurn } from '../tenancy/model.js';
import type { RecordingWriter } from './recording-writer.js';
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
  /** Starts a call's recording for agents that record (absent: recording is off). */
  readonly startRecording?: CallRecordingStarter;
  /** The agent's recording announcement (24 kHz PCM16), played before it speaks on recorded calls. */
  readonly recordingAnnouncement?: (accountId: string, agentId: string) => Int16Array | undefined;
  /** The knowledge-base lookup of a call to this agent (undefined: the agent has no bases). */
  readonly kb?: { lookupFor(accountId: string, agentId: string, log: Logger): KbLookup | undefined };
}

/** Starts one call's recording, or says why it could not (the call goes on without it). */
export type CallRecordingStarter = (call: {
  accountId: string;
  callId: string;
  codec: { name: string; clockRate: number; payloadType: number };
}) => Promise<{ writer: RecordingWriter } | { failure: string }>;

/** Codecs our Realtime endpoint decodes itself (rtpengine transcodes anything else to one). */
const REALTIME_CODECS: readonly CodecSpec[] = DEFAULT_CODECS.filter(
  (c) => c.name === TELEPHONE_EVENT || (SUPPORTED_CODECS as readonly string[]).includes(c.name),
);

export interface CallSessionDeps {
  clock: Clock;
  log: Logger;
  registry: CallRegistry;
  /** Writes the CDR (the caller is hashed and sealed behind this port). */
  cdrs: CdrWriter;
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
  /** The call's recording, when its agent records: a child closed by finish(). */
  private recording: RecordingWriter | undefined;
  private announcement: Int16Array | undefined;
  /** Why a recording the agent asked for did not start (for the CDR). */
  private recordingFailure: string | null = null;
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
  /** What the call started (Realtime bridge and clients); closed when it ends, refusing new children after. */
  private readonly scope: CallScope;
  private closedAllResolve!: () => void;
  private readonly closedAll = new Promise<void>((resolve) => (this.closedAllResolve = resolve));
  private readonly mediaMetrics: MediaMetricsFeed;

  constructor(
    private readonly call: IncomingCall,
    private readonly admitted: Accepted,
    private readonly deps: CallSessionDeps,
  ) {
    this.startedAt = deps.clock.now();
    this.log = deps.log.child({ callId: call.info.callId, accountId: admitted.account.id, session: this.id });
    this.tracker = deps.metrics.callStarted();
    this.mediaMetrics = new MediaMetricsFeed(deps.metrics);
    this.scope = new CallScope((err) => this.log.warn({ err: (err as Error).message }, 'closing part of the call failed'));
  }

  /**
   * Registers the call (synchronously, so limits hold) and sets it up. Never throws. Everything
   * the call starts runs in its context (call-context.ts): an error nobody caught there ends
   * this call, not the daemon.
   */
  start(): void {
    runInCall({ callId: this.id, fault: (err, where) => this.fault(err, where) }, () => this.begin());
  }

  /**
   * An internal error (a bug, a store that throws where nothing expected it): logged with its
   * stack, counted, and the call is ended (500 before answer, BYE after). Other calls go on.
   */
  private fault(err: unknown, where: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.deps.metrics.internalError('call');
    this.log.error({ where, err: e.message, stack: e.stack }, 'internal error: ending this call');
    if (this.ended) return;
    this.endCause ??= 'internal-error';
    this.hangupBy = 'gateway';
    this.endWith(500, 'Server Internal Error', `internal error in ${where}`);
  }

  private begin(): void {
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
    const offerCheck = checkOffer(offer);
    if (!offerCheck.ok) return this.endWith(488, 'Not Acceptable Here', offerCheck.why);
    // Media first, so an rtpengine that cannot take the call is a 503 before any ringing, and a
    // caller hanging up while it rings exercises the same release path as every other end.
    const sdp = this.deps.anchor ? await this.setupAnchored(this.deps.anchor, offer, realtime) : await this.setupDirect(offer, realtime);
    if (sdp === null || this.ended) return;
    if (realtime !== undefined) {
      // The model's socket opens while the caller hears ringing, so it is ready at 200 OK.
      this.call.progress(180);
      if (!(await this.prepareBridge(realtime))) return;
      if (this.ended) return;
      // An account keeping recordings 0 days gets none, whatever the agent says.
      if (agent.recording && this.admitted.account.retention.recordingsDays !== 0) await this.startRecording(realtime);
      if (this.ended) return;
    } else if (this.deps.echoRingMs > 0) {
      this.call.progress(180);
      await new Promise<void>((resolve) => this.deps.clock.setTimer(this.deps.echoRingMs, resolve));
      if (this.ended) return;
    }
    // The model's audio (the first words, the caller's audio up) starts at the ACK, not at the
    // 200: an INVITE whose 200 is never ACKed (spoofed from a trunk's address over UDP) gets no
    // conversation on the tenant's key, and its prepared session closes when the call ends (no-ack).
    const bridge = this.bridge;
    if (bridge) {
      this.call.once('confirmed', () => {
        // Queued ahead of the first words, so the caller hears that the call is recorded first.
        if (this.announcement) bridge.playPcm(this.announcement);
        bridge.start();
      });
    }
    await this.call.answer(sdp);
    // A CANCEL may cross the 200 OK (drachtio engine): the call ended, nothing more to start.
    if (this.ended) return;
    this.answeredAt = this.deps.clock.now();
    this.tracker.answered();
    this.maxTimer = this.deps.clock.setTimer(agent.maxCallSeconds * 1000, () => {
      this.log.info({ maxCallSeconds: agent.maxCallSeconds }, 'maximum call duration reached');
      this.hangupBy = 'gateway';
      void this.call.hangup();
    });
    this.watchMedia();
    this.reportMedia();
    this.log.info({ codec: this.media?.stats.codec, anchored: this.deps.anchor !== undefined, model: this.bridge?.audioFormat }, 'call answered');
  }

  /** Builds the bridge on the negotiated codec and opens the Realtime session; false when the call was refused. */
  private async prepareBridge(realtime: RealtimeCallDeps): Promise<boolean> {
    if (this.scope.closed) return false;
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
    // A tool that throws (its contract is to resolve with an output) is a bug: this call ends.
    const guardedTools: RealtimeBridgeDeps['tools'] = {
      run: (call, b) =>
        tools.run(call, b).catch((err: unknown) => {
          this.fault(err, `tool ${call.name}`);
          return JSON.stringify({ error: 'the tool failed' });
        }),
      respondsAfter: (name) => tools.respondsAfter(name),
      // The tools the call adds to the agent's own (kb_search): the guard must not hide them.
      definitions: () => tools.definitions(),
    };
    const bridge = new RealtimeBridge({
      // An account keeping transcripts 0 days stores none, so the session asks for none either.
      agent: account.retention.transcriptsDays === 0 ? { ...agent, storeTranscripts: false } : agent,
      endpoint: leg.rtp,
      codec: codec!.name,
      clock: this.deps.clock,
      log,
      // Each client (a first connect or a reconnect) belongs to the call from the moment it
      // exists, so a call that ends while it connects closes it; an ended call makes none.
      newClient: () => this.scope.adopt(realtime.newClient(log), 'a Realtime connection'),
      connect: { url: realtime.urlFor(agent.model), authScheme: realtime.authScheme, timeoutMs: realtime.connectTimeoutMs },
      openKey: () => {
        this.scope.guard('unsealing the OpenAI key');
        const key = realtime.openSecret(account.id, 'openai');
        if (key === undefined) throw Object.assign(new Error('the account has no "openai" secret'), { noKey: true });
        return key;
      },
      wipe: realtime.wipe,
      reconnect: realtime.reconnect(),
      tools: guardedTools,
      hangup: endCall,
      onFirstAudio: () => this.tracker.firstAgentAudio(),
      dtmfCollectMs: realtime.dtmfCollectMs,
      resamplerQuality: realtime.resamplerQuality,
      ...(realtime.apology ? { apology: realtime.apology } : {}),
      ...(realtime.latency ? { latency: realtime.latency } : {}),
      ...(realtime.reconnected ? { onReconnected: realtime.reconnected } : {}),
    });
    this.bridge = this.scope.adopt(bridge, 'the Realtime bridge');
    try {
      await bridge.prepare();
      return !this.scope.closed;
    } catch (err) {
      // The call ended meanwhile (CANCEL): its close cascade stopped the connect. Nothing was refused.
      if (this.scope.closed) return false;
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

  /** Opens the recording and taps the endpoint into it; a recording that cannot start is logged, not fatal. */
  private async startRecording(realtime: RealtimeCallDeps): Promise<void> {
    const codec = this.media?.negotiatedCodec;
    if (!realtime.startRecording || !codec) return;
    const started = await realtime.startRecording({ accountId: this.admitted.account.id, callId: this.id, codec });
    if ('failure' in started) {
      this.recordingFailure = started.failure;
      return;
    }
    const writer = started.writer;
    if (this.ended) {
      void writer.close();
      return;
    }
    this.recording = writer;
    (this.media!.endpoint as RealtimeLeg).rtp.setTap(writer);
    try {
      this.announcement = realtime.recordingAnnouncement?.(this.admitted.account.id, this.admitted.agent.id);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'recording announcement not loaded');
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

  /** RTP counters, loss and jitter into the metrics every few seconds (and at the end, in finish). */
  private reportMedia(): void {
    const tick = (): void => {
      if (this.ended || !this.media) return;
      this.mediaMetrics.report(this.media.stats);
      timer = this.deps.clock.setTimer(REPORT_EVERY_MS, tick);
    };
    let timer = this.deps.clock.setTimer(REPORT_EVERY_MS, tick);
    try {
      this.scope.adopt({ close: () => timer.cancel() }, 'the media metrics timer');
    } catch {
      // the call ended meanwhile: adopt cancelled it
    }
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
      if (reoffer === null || !this.acceptableReoffer(reoffer)) return null;
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
    this.log.debug({ rtpengineCallId: this.id }, 'anchoring media');
    const media = await AnchoredMedia.open(
      anchor.rtp,
      anchor.port,
      {
        // rtpengine knows the call by our own id, never the carrier's Call-ID: two live calls
        // with the same Call-ID (two trunks, two tenants, a careless carrier) would otherwise be
        // one rtpengine call, one's delete ending the other's media, its offer redirecting it.
        // The tags only need to stay the same for the life of the call; ours, so no From header
        // (or its absence) decides them.
        callId: this.id,
        fromTag: `${this.id}-carrier`,
        toTag: `${this.id}-agent`,
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
      if (reoffer !== null && !this.acceptableReoffer(reoffer)) return null;
      const sdp = media.reinvite(reoffer);
      if (sdp === null) this.log.info('re-INVITE refused');
      return sdp;
    });
    return answer.sdp;
  }

  /** Resolves once everything the call started has been closed (after it ended). */
  whenClosed(): Promise<void> {
    return this.closedAll;
  }

  /** A re-INVITE's offer passes the same limits as the first one (else 488). */
  private acceptableReoffer(sdp: string): boolean {
    const check = checkOffer(sdp);
    if (!check.ok) this.log.info({ why: check.why }, 're-INVITE refused');
    return check.ok;
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
    const rec = this.recording?.summary();
    // What the CDR can say at hang-up; the recording's own row has the final word (its last write).
    const recording = rec
      ? { status: rec.status === 'failed' ? 'failed' : 'recorded', failure: rec.failure, seconds: rec.seconds }
      : this.recordingFailure !== null
        ? { status: 'failed', failure: `not started: ${this.recordingFailure}`, seconds: 0 }
        : undefined;
    // The scope closes the Realtime bridge and clients; the recording is closed beside it, and
    // "everything closed" waits for both.
    const recordingClosed = this.recording?.close().catch((err: Error) => this.log.warn({ err: err.message }, 'recording close failed'));
    void Promise.all([this.scope.close(), recordingClosed]).then(() => this.closedAllResolve());
    this.kb?.close();
    this.releaseMedia();
    this.deps.registry.remove(this.id);
    if (stats) this.mediaMetrics.report(stats);
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
        details: { ...(stats ? { media: stats } : {}), ...(realtime ? { realtime } : {}), ...(this.refusal ? { refusal: this.refusal } : {}), ...(recording ? { recording } : {}) },
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
