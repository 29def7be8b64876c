/**
 * One call's bridge between its RTP endpoint and its OpenAI Realtime session.
 *
 *   prepare()  while the call rings: unseal the account's key, open the socket, session.update
 *              (so the model is ready at 200 OK). Throws the RealtimeError (auth, quota…).
 *   start()    at the ACK of our 200 OK: caller audio flows up, the agent's first words are asked for.
 *   close()    at the end: the socket is closed, codecs freed; `summary()` and `transcript()`
 *              are what the CDR and the transcript store get.
 *
 * Up: inbound frame → UplinkAudio (decode + resample, or G.711 as is) → input_audio_buffer.append.
 * Down: output_audio.delta → DownlinkAudio → PlayoutLedger.queued → endpoint.enqueue (paced).
 * Barge-in: speech_started → the ledger says what was heard → endpoint.flush() → truncate.
 * A dropped session is reconnected within the policy's budget and restored (instructions and the
 * conversation so far); if that fails, the caller hears the apology tone and the call ends.
 */
import type { ConversationItem, RealtimeFunctionTool } from 'openai/resources/realtime/realtime';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { DownlinkAudio, UplinkAudio, type ModelAudioFormat } from '../media/audio-path.js';
import { specialInformationTone } from '../media/prompts.js';
import type { InboundFrame, RtpEndpoint } from '../media/rtp-endpoint.js';
import type { PacedPacket } from '../media/pacer.js';
import type { DtmfPress } from '../media/dtmf.js';
import { PlayoutLedger } from '../realtime/barge-in.js';
import type { RealtimeClient, ToolCall } from '../realtime/realtime-client.js';
import { RealtimeError, isRealtimeError } from '../realtime/realtime-error.js';
import { reconnectWithPolicy, type ReconnectPolicy } from '../realtime/reconnect-policy.js';
import { UsageMeter, type TokenUsage } from '../privacy/usage-meter.js';
import { buildSessionConfig, firstWordsResponse, type RealtimeSessionConfig } from '../realtime/session-config.js';
import type { Agent, TranscriptTurn } from '../tenancy/model.js';
import { TranscriptRecorder } from './transcript-recorder.js';

export interface RealtimeConnectSettings {
  /** ws(s):// URL including the model query. */
  readonly url: string;
  readonly authScheme: 'bearer' | 'api-key';
  readonly timeoutMs: number;
}

/** What the bridge's tools need of the call around it (call-tools.ts implements the tools). */
export interface BridgeTools {
  /** Runs one tool call; resolves with the JSON output for the model (never rejects). */
  run(call: ToolCall, bridge: RealtimeBridge): Promise<string>;
  /** Whether the model should be asked to go on after this tool's output. */
  respondsAfter(name: string): boolean;
  /** Function tools the call adds to the agent's own (kb_search). */
  definitions?(): RealtimeFunctionTool[];
}

export interface RealtimeBridgeDeps {
  readonly agent: Agent;
  readonly endpoint: RtpEndpoint;
  /** The carrier leg's negotiated codec (SDP name). */
  readonly codec: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** A fresh client for each connection attempt. */
  readonly newClient: () => RealtimeClient;
  readonly connect: RealtimeConnectSettings;
  /** Unseals the account's OpenAI key for one connection; the bridge wipes it after use. */
  readonly openKey: () => Uint8Array;
  readonly wipe: (buf: Uint8Array) => void;
  readonly reconnect: ReconnectPolicy;
  readonly tools: BridgeTools;
  /** Asks the call to end with BYE (end_call after the goodbye, apology played, transfer done). */
  readonly hangup: (cause: string) => void;
  /** Caller digits are collected this long before they go to the model as one turn. Default 1500. */
  readonly dtmfCollectMs?: number;
  /** The apology played when the model is gone (24 kHz PCM16); default the SIT tone. */
  readonly apology?: Int16Array;
  /** Speex resampler quality. */
  readonly resamplerQuality?: number;
  /** A dropped session was restored (metrics). */
  readonly onReconnected?: () => void;
  /** The first agent audio frame left for the caller. */
  readonly onFirstAudio?: () => void;
  /** Added-latency observations (ms), for metrics and the benchmark. */
  readonly latency?: { up(ms: number): void; down(ms: number): void };
}

export interface BridgeSummary {
  audioFormat: ModelAudioFormat;
  timeToFirstAudioMs: number | null;
  bargeIns: number;
  toolCalls: Array<{ name: string; ok: boolean; ms: number }>;
  reconnects: number;
  framesUp: number;
  framesDown: number;
  framesDroppedWhileReconnecting: number;
  appendedBytes: number;
  /** Server code of a fatal failed response (insufficient_quota…), or null. */
  failedWith: string | null;
  /** Token counts summed over every response.done (for the call's usage row). */
  tokens: TokenUsage;
}

/** Model frames converted ahead of the pacer: enough to ride out a late tick, few enough that a barge-in wastes little. */
const LEAD_FRAMES = 3;

/** Tags of our own prompts' frames start with this (model item ids never do). */
const PROMPT_TAG = '\u0000prompt:';

/** Server codes of a failed response after which the session is useless for this account. */
const FATAL_RESPONSE_CODES: ReadonlySet<string> = new Set(['insufficient_quota', 'invalid_api_key', 'account_deactivated', 'billing_hard_limit_reached']);

export class RealtimeBridge {
  private client: RealtimeClient | null = null;
  private readonly sessionConfig: RealtimeSessionConfig;
  readonly audioFormat: ModelAudioFormat;
  private readonly uplink: UplinkAudio;
  private readonly downlink: DownlinkAudio;
  private readonly ledger = new PlayoutLedger(20);
  private readonly transcriptRec: TranscriptRecorder;
  private started = false;
  private closed = false;
  private reconnecting = false;
  private answeredAt: number | null = null;
  private firstAudioAt: number | null = null;
  private downItem: string | null = null;
  private downContent = 0;
  /** Model audio not yet converted, in arrival order (null delta: the item's audio is done). */
  private readonly pendingDown: Array<{ itemId: string; contentIndex: number; delta: string | null; receivedMs: number; idle: boolean }> = [];
  /** Per queued model frame, FIFO with the pacer: its arrival time when it found nothing queued, else null (for the down latency). */
  private readonly downReceipts: Array<number | null> = [];
  /** Milliseconds of audio received per item (to cut its transcript on barge-in). */
  private readonly itemReceivedMs = new Map<string, number>();
  private pendingDigits = '';
  private digitTimer: TimerHandle | null = null;
  /** Set by end_call: hang up once this response is done and its audio has played. */
  private endAfter: { responseId: string; done: boolean } | null = null;
  private endTimer: TimerHandle | null = null;
  private apologyPlaying = false;
  /** The server code that ended the session for the account (quota), for the CDR. */
  private failedWith: string | null = null;
  /** The response in progress: a second response.create meanwhile is an error, so it waits. */
  private activeResponse: string | null = null;
  private respondWhenIdle = false;
  private readonly stats = { bargeIns: 0, reconnects: 0, framesUp: 0, framesDown: 0, dropped: 0, appendedBytes: 0 };
  private readonly usage = new UsageMeter();
  private readonly toolLog: BridgeSummary['toolCalls'] = [];

  constructor(private readonly deps: RealtimeBridgeDeps) {
    this.sessionConfig = buildSessionConfig(deps.agent, { carrierCodec: deps.codec.toUpperCase(), extraTools: deps.tools.definitions?.() ?? [] });
    const fmt = this.sessionConfig.audio?.input?.format?.type;
    this.audioFormat = fmt === 'audio/pcmu' ? 'pcmu' : fmt === 'audio/pcma' ? 'pcma' : 'pcm16';
    const q = deps.resamplerQuality === undefined ? {} : { resamplerQuality: deps.resamplerQuality };
    this.uplink = new UplinkAudio({ codec: deps.codec, modelFormat: this.audioFormat, ...q });
    this.downlink = new DownlinkAudio({ codec: deps.codec, modelFormat: this.audioFormat, ...q });
    this.transcriptRec = new TranscriptRecorder(() => deps.clock.now());
    deps.endpoint.setSink({
      onFrame: (f) => this.onCallerFrame(f),
      onDtmf: (p) => this.onCallerDtmf(p),
      onSent: (p, ms) => this.onFrameSent(p, ms),
      beforeSend: () => this.topUp(),
    });
  }

  /** Opens and configures the Realtime session (while ringing). Rejects with a RealtimeError. */
  async prepare(): Promise<void> {
    this.client = await this.open(false);
  }

  /** The call is answered and confirmed (ACK): caller audio flows, and the agent's first words are asked for. */
  start(): void {
    if (this.closed) return;
    this.started = true;
    this.answeredAt = this.deps.clock.monotonic();
    const first = firstWordsResponse(this.deps.agent);
    if (first !== null && this.client?.state === 'open') {
      try {
        this.client.createResponse(first.response);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'could not ask for the first words');
      }
    }
  }

  /** Ends the session; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.digitTimer?.cancel();
    this.endTimer?.cancel();
    const client = this.client;
    this.client = null;
    await client?.close();
    this.uplink.destroy();
    this.downlink.destroy();
  }

  summary(): BridgeSummary {
    return {
      audioFormat: this.audioFormat,
      timeToFirstAudioMs:
        this.firstAudioAt === null || this.answeredAt === null ? null : Math.round(this.firstAudioAt - this.answeredAt),
      bargeIns: this.stats.bargeIns,
      toolCalls: [...this.toolLog],
      reconnects: this.stats.reconnects,
      framesUp: this.stats.framesUp,
      framesDown: this.stats.framesDown,
      framesDroppedWhileReconnecting: this.stats.dropped,
      appendedBytes: this.stats.appendedBytes,
      failedWith: this.failedWith,
      tokens: this.usage.toJSON(),
    };
  }

  transcript(): TranscriptTurn[] {
    return this.transcriptRec.list();
  }

  // ── used by the tools (call-tools.ts) ─────────────────────────────────────

  get endpoint(): RtpEndpoint {
    return this.deps.endpoint;
  }

  get agent(): Agent {
    return this.deps.agent;
  }

  /** end_call: hang up once the response that called it is done and its last frame has left. */
  endAfterResponse(responseId: string): void {
    this.endAfter = { responseId, done: false };
    // However the model behaves, the call ends: at most 15 s for the goodbye to finish.
    this.endTimer = this.deps.clock.setTimer(15_000, () => this.deps.hangup('end_call'));
  }

  /** Drops what is still queued of a prompt queued with `tag` (the filler, once the tool answered). */
  stopPcm(tag: string): void {
    this.deps.endpoint.dropTagged(PROMPT_TAG + tag);
  }

  /**
   * Queues 24 kHz PCM (a filler, the apology) for the caller. Not model audio: its frames carry
   * a PROMPT_TAG-prefixed tag (or none), which the ledger and the latency figures ignore.
   */
  playPcm(pcm24k: Int16Array, tag?: string): void {
    const enc = new DownlinkAudio({ codec: this.deps.codec, modelFormat: 'pcm16' });
    try {
      const frames = enc.push(new Uint8Array(pcm24k.buffer, pcm24k.byteOffset, pcm24k.byteLength));
      const last = enc.end();
      const frameTag = tag === undefined ? undefined : PROMPT_TAG + tag;
      for (const f of last ? [...frames, last] : frames) this.deps.endpoint.enqueue(f.payload, frameTag);
    } finally {
      enc.destroy();
    }
  }

  recordTool(name: string, ok: boolean, ms: number, note: string): void {
    this.toolLog.push({ name, ok, ms: Math.round(ms) });
    this.transcriptRec.tool(`${name}: ${note}`);
  }

  // ── the session ───────────────────────────────────────────────────────────

  private async open(restore: boolean): Promise<RealtimeClient> {
    const client = this.deps.newClient();
    const key = this.deps.openKey();
    try {
      await client.connect({ url: this.deps.connect.url, apiKey: key, timeoutMs: this.deps.connect.timeoutMs, authScheme: this.deps.connect.authScheme });
    } catch (err) {
      await client.close();
      throw err;
    } finally {
      this.deps.wipe(key);
    }
    try {
      await client.updateSession(this.sessionConfig);
      if (restore) this.restoreConversation(client);
    } catch (err) {
      await client.close();
      throw err;
    }
    this.wire(client);
    return client;
  }

  /** Replays the conversation so far into a new session, as text turns. */
  private restoreConversation(client: RealtimeClient): void {
    for (const turn of this.transcriptRec.list()) {
      let item: ConversationItem | null = null;
      if (turn.role === 'caller' || turn.role === 'dtmf')
        item = { type: 'message', role: 'user', content: [{ type: 'input_text', text: turn.role === 'dtmf' ? `(keypad) ${turn.text}` : turn.text }] };
      else if (turn.role === 'agent' && turn.text !== '') item = { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: turn.text }] };
      if (item !== null) client.createItem(item);
    }
  }

  private wire(client: RealtimeClient): void {
    client.on('response.output_audio.delta', (ev) => this.onModelAudio(ev.item_id, ev.content_index, ev.delta));
    client.on('response.output_audio.done', (ev) => {
      if (this.closed || this.apologyPlaying) return;
      this.pendingDown.push({ itemId: ev.item_id, contentIndex: ev.content_index, delta: null, receivedMs: this.deps.clock.monotonic(), idle: false });
    });
    client.on('response.created', (ev) => {
      this.activeResponse = ev.response.id ?? null;
    });
    client.on('response.done', (ev) => {
      this.usage.add(ev.response.usage);
      if (this.activeResponse === ev.response.id) this.activeResponse = null;
      const failure = ev.response.status === 'failed' ? ev.response.status_details?.error?.code : undefined;
      if (failure !== undefined && FATAL_RESPONSE_CODES.has(failure)) {
        // The account cannot pay for more model time (or its key was revoked mid-call): no
        // reconnect can help. The caller hears the apology; the call ends.
        this.deps.log.error({ serverCode: failure }, 'realtime response failed for the account: apologising and ending the call');
        this.failedWith = failure;
        this.apologise();
        return;
      }
      if (this.respondWhenIdle && this.activeResponse === null && this.endAfter === null) {
        this.respondWhenIdle = false;
        this.respond(client);
      }
      if (this.endAfter !== null && ev.response.id === this.endAfter.responseId) {
        this.endAfter.done = true;
        this.maybeEnd();
      }
    });
    client.on('input_audio_buffer.speech_started', () => this.bargeIn());
    client.on('conversation.item.input_audio_transcription.completed', (ev) => this.transcriptRec.caller(ev.transcript));
    client.on('response.output_audio_transcript.done', (ev) => this.transcriptRec.agent(ev.item_id, ev.transcript));
    client.on('response.function_call_arguments.done', (_ev, call) => void this.runTool(client, call));
    client.on('disconnected', (err) => void this.onDisconnected(client, err));
  }

  private async runTool(client: RealtimeClient, call: ToolCall): Promise<void> {
    const output = await this.deps.tools.run(call, this);
    if (this.closed || this.client !== client || call.signal.aborted) return;
    try {
      client.sendFunctionOutput(call.callId, output, { respond: false });
    } catch (err) {
      this.deps.log.warn({ tool: call.name, err: (err as Error).message }, 'tool output not delivered');
      return;
    }
    if (this.deps.tools.respondsAfter(call.name)) this.respond(client);
  }

  /** Asks the model to go on, now or as soon as the response in progress is done. */
  private respond(client: RealtimeClient): void {
    if (this.activeResponse !== null) {
      this.respondWhenIdle = true;
      return;
    }
    try {
      client.createResponse();
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'response.create not sent');
    }
  }

  private async onDisconnected(client: RealtimeClient, err: RealtimeError): Promise<void> {
    if (this.closed || this.client !== client) return;
    this.client = null;
    this.reconnecting = true;
    this.deps.log.warn({ error: err.toJSON() }, 'realtime session lost; reconnecting');
    // What was queued of the old session's audio still plays; nothing new can come.
    try {
      const next = await reconnectWithPolicy(err, () => this.open(true), {
        policy: this.deps.reconnect,
        clock: this.deps.clock,
        onRetry: (n, delayMs) => this.deps.log.info({ attempt: n, delayMs }, 'realtime reconnect attempt'),
      });
      if (this.closed) {
        await next.close();
        return;
      }
      this.client = next;
      this.activeResponse = null;
      this.respondWhenIdle = false;
      this.stats.reconnects++;
      this.deps.onReconnected?.();
      this.deps.log.info({ reconnects: this.stats.reconnects }, 'realtime session restored');
    } catch (final) {
      if (this.closed) return;
      const e = isRealtimeError(final) ? final.toJSON() : { message: (final as Error).message };
      this.deps.log.error({ error: e }, 'realtime session could not be restored: apologising and ending the call');
      this.apologise();
    } finally {
      this.reconnecting = false;
    }
  }

  /** The model is gone: the apology plays, then the call ends. */
  apologise(): void {
    if (this.apologyPlaying || this.closed) return;
    this.apologyPlaying = true;
    this.deps.endpoint.flush();
    this.pendingDown.length = 0;
    this.ledger.flush();
    this.playPcm(this.deps.apology ?? specialInformationTone());
    this.maybeEnd();
    // Should the pacer stop (hold), the call still ends.
    this.endTimer ??= this.deps.clock.setTimer(10_000, () => this.deps.hangup('realtime-failed'));
  }

  // ── audio ─────────────────────────────────────────────────────────────────

  private onCallerFrame(frame: InboundFrame): void {
    const client = this.client;
    if (!this.started || this.closed) return;
    if (client === null || client.state !== 'open') {
      if (this.reconnecting) this.stats.dropped++;
      return;
    }
    const bytes = this.uplink.convert(frame.payload, frame.samples);
    if (client.appendAudio(bytes)) {
      this.stats.framesUp++;
      this.stats.appendedBytes += bytes.length;
      if (frame.kind === 'audio') this.deps.latency?.up(this.deps.clock.monotonic() - frame.arrivalMs);
    }
  }

  /**
   * Model audio is kept as it came (base64) and converted just in time, a few frames ahead of
   * the pacer (`topUp` on every frame tick). The model sends faster than real time, often a
   * whole answer in one burst: converting it all on arrival would stall the shared frame tick of
   * every call for as long, and a barge-in would throw away audio already converted.
   */
  private onModelAudio(itemId: string, contentIndex: number, delta: string): void {
    if (this.closed || this.apologyPlaying || this.ledger.isTruncated(itemId)) return;
    const receivedMs = this.deps.clock.monotonic();
    const idle = this.pendingDown.length === 0 && this.deps.endpoint.queuedFrames === 0;
    this.pendingDown.push({ itemId, contentIndex, delta, receivedMs, idle });
    // Base64 length → milliseconds of audio: 3/4 of it are bytes; PCM16 24 kHz is 48 bytes/ms, G.711 8.
    const ms = (delta.length * 3) / 4 / (this.audioFormat === 'pcm16' ? 48 : 8);
    this.itemReceivedMs.set(itemId, (this.itemReceivedMs.get(itemId) ?? 0) + ms);
  }

  /** Converts pending model audio until LEAD_FRAMES frames are queued (called before each tick's send). */
  private topUp(): void {
    while (this.pendingDown.length > 0 && this.deps.endpoint.queuedFrames < LEAD_FRAMES) {
      const e = this.pendingDown.shift()!;
      if (this.downItem !== null && this.downItem !== e.itemId) this.flushDownItem();
      if (e.delta === null) {
        if (e.itemId === this.downItem) this.flushDownItem();
        continue;
      }
      this.downItem = e.itemId;
      this.downContent = e.contentIndex;
      const frames = this.downlink.push(Buffer.from(e.delta, 'base64'));
      frames.forEach((f, i) => this.queueModelFrame(e.itemId, e.contentIndex, f.payload, f.audioMs, e.idle && i === 0 ? e.receivedMs : null));
    }
  }

  /** The current item's last partial frame, padded. */
  private flushDownItem(): void {
    const itemId = this.downItem;
    this.downItem = null;
    const last = this.downlink.end();
    if (itemId !== null && last !== null) this.queueModelFrame(itemId, this.downContent, last.payload, last.audioMs, null);
  }

  /** `receivedMs`: set for a frame whose audio arrived with nothing queued (its latency counts from arrival). */
  private queueModelFrame(itemId: string, contentIndex: number, payload: Uint8Array, audioMs: number, receivedMs: number | null): void {
    // Audio of an item already cut by a barge-in is refused by the ledger.
    if (!this.ledger.queued(itemId, contentIndex, audioMs)) return;
    this.downReceipts.push(receivedMs);
    this.deps.endpoint.enqueue(payload, itemId);
  }

  private onFrameSent(packet: PacedPacket, sentMs: number): void {
    if (packet.tag !== undefined && !packet.tag.startsWith(PROMPT_TAG)) {
      this.stats.framesDown++;
      if (this.firstAudioAt === null) {
        this.firstAudioAt = sentMs;
        this.deps.onFirstAudio?.();
      }
      try {
        this.ledger.sent(packet.tag);
      } catch {
        // a frame of an item the ledger already pruned; harmless
      }
      const receivedMs = this.downReceipts.shift();
      // A frame whose audio found nothing queued waited for its slot and the tick; one queued
      // behind others waited for them (the model sends faster than real time), not for us.
      if (receivedMs !== undefined) this.deps.latency?.down(receivedMs !== null ? sentMs - receivedMs : sentMs - packet.dueMs);
      if (this.ledger.size > 32) this.ledger.prune();
    }
    if (this.deps.endpoint.queuedFrames === 0 && this.pendingDown.length === 0) this.maybeEnd();
  }

  /** speech_started: stop the agent at once and cut its item to what the caller heard. */
  private bargeIn(): void {
    const truncation = this.ledger.truncation();
    const dropped = this.deps.endpoint.flush();
    const pendingItem = this.pendingDown.find((e) => e.delta !== null)?.itemId;
    const unconverted = this.pendingDown.length;
    this.pendingDown.length = 0;
    this.downlink.reset();
    this.downItem = null;
    this.downReceipts.length = 0;
    const cuts = this.ledger.flush();
    // Every converted frame of the playing item went out, but more of it was still waiting to be
    // converted: the caller heard exactly what was sent of it.
    if (cuts.length === 0 && pendingItem !== undefined) cuts.push(this.ledger.truncateAtSent(pendingItem));
    if (truncation === null && dropped === 0 && unconverted === 0) return;
    this.stats.bargeIns++;
    const client = this.client;
    for (const cut of cuts) {
      this.transcriptRec.cut(cut.itemId, cut.audioEndMs, this.itemReceivedMs.get(cut.itemId) ?? cut.audioEndMs + cut.unplayedMs);
      try {
        client?.truncate(cut.itemId, cut.contentIndex, cut.audioEndMs);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'truncate not sent');
      }
    }
    this.deps.log.debug({ dropped, truncated: cuts.length }, 'barge-in');
  }

  // ── DTMF ──────────────────────────────────────────────────────────────────

  private onCallerDtmf(press: DtmfPress): void {
    if (!this.started || this.closed) return;
    this.pendingDigits += press.digit === 'flash' ? '!' : press.digit;
    this.digitTimer?.cancel();
    const send = (): void => this.sendDigits();
    if (press.digit === '#') send();
    else this.digitTimer = this.deps.clock.setTimer(this.deps.dtmfCollectMs ?? 1500, send);
  }

  /** The digits pressed so far go to the model as one user turn, and it is asked to answer. */
  private sendDigits(): void {
    this.digitTimer?.cancel();
    this.digitTimer = null;
    const digits = this.pendingDigits;
    this.pendingDigits = '';
    if (digits === '' || this.client === null || this.client.state !== 'open') return;
    this.transcriptRec.dtmf(digits);
    try {
      this.client.createItem({
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: `The caller pressed these keys on the phone keypad: ${digits}` }],
      });
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'keypad digits not delivered');
      return;
    }
    this.respond(this.client);
  }

  private maybeEnd(): void {
    if (this.deps.endpoint.queuedFrames !== 0 || this.pendingDown.length !== 0) return;
    if (this.apologyPlaying) {
      this.deps.hangup('realtime-failed');
      return;
    }
    if (this.endAfter?.done === true) this.deps.hangup('end_call');
  }
}

export { RealtimeError };
