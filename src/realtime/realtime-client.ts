/**
 * One OpenAI Realtime (GA) session over one WebSocket.
 *
 * Built on `ws` rather than the `openai` package's client so the URL is the caller's choice
 * (api.openai.com, Azure OpenAI, the stand-in in tests); the event shapes are still the
 * package's own types. The adapter knows nothing of calls or media: it sends typed client
 * events, emits typed server events, and turns every failure into a RealtimeError that says
 * whether trying again can help.
 *
 * The key: `connect` takes the account's OpenAI key as bytes just unsealed by the vault. It is
 * turned into the header value once, in a buffer of its own that is wiped (`authHeader`); the
 * caller wipes its bytes as soon as `connect` returns. A JS string cannot be wiped: the header
 * string, the request head Node's http builds from it and the socket's write of it remain in the
 * heap as garbage until their memory is reused (test/realtime/key-copies.test.ts counts them:
 * under 3 per connect, none reachable once the session is open). Neither
 * the key, the header nor an error body (OpenAI's 401 body quotes part of the key) is ever put
 * in a log line or an error message.
 *
 * Pending work is owned here, as in mediasoup's Channel: request waits (`updateSession`) and the
 * model's tool calls in progress are rejected/aborted when the socket drops or is closed, so a
 * reconnected session never receives the output of a call it did not make.
 */
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import type {
  ConversationItem,
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemTruncatedEvent,
  InputAudioBufferCommittedEvent,
  InputAudioBufferSpeechStartedEvent,
  InputAudioBufferSpeechStoppedEvent,
  RealtimeClientEvent,
  RealtimeErrorEvent,
  RealtimeResponseCreateParams,
  RealtimeServerEvent,
  ResponseAudioDeltaEvent,
  ResponseAudioDoneEvent,
  ResponseAudioTranscriptDeltaEvent,
  ResponseAudioTranscriptDoneEvent,
  ResponseCreatedEvent,
  ResponseDoneEvent,
  ResponseFunctionCallArgumentsDoneEvent,
  SessionCreatedEvent,
  SessionUpdatedEvent,
} from 'openai/resources/realtime/realtime';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { RealtimeError } from './realtime-error.js';
import type { RealtimeSessionConfig } from './session-config.js';

/** The server events this adapter hands on, each under its own `type`. */
type HandledServerEvent =
  | SessionCreatedEvent
  | SessionUpdatedEvent
  | ResponseCreatedEvent
  | ResponseAudioDeltaEvent
  | ResponseAudioDoneEvent
  | ResponseAudioTranscriptDeltaEvent
  | ResponseAudioTranscriptDoneEvent
  | ConversationItemInputAudioTranscriptionCompletedEvent
  | InputAudioBufferSpeechStartedEvent
  | InputAudioBufferSpeechStoppedEvent
  | InputAudioBufferCommittedEvent
  | ConversationItemTruncatedEvent
  | ResponseDoneEvent;

const HANDLED = [
  'session.created',
  'session.updated',
  'response.created',
  'response.output_audio.delta',
  'response.output_audio.done',
  'response.output_audio_transcript.delta',
  'response.output_audio_transcript.done',
  'conversation.item.input_audio_transcription.completed',
  'input_audio_buffer.speech_started',
  'input_audio_buffer.speech_stopped',
  'input_audio_buffer.committed',
  'conversation.item.truncated',
  'response.done',
] as const satisfies ReadonlyArray<HandledServerEvent['type']>;
// Compile-time: every handled type is listed (a missing one makes this `false`).
const _allListed: Exclude<HandledServerEvent['type'], (typeof HANDLED)[number]> extends never ? true : false = true;
void _allListed;
const HANDLED_SET: ReadonlySet<string> = new Set(HANDLED);

/** A tool call from the model, live until its output is sent or the session drops. */
export interface ToolCall {
  readonly callId: string;
  readonly name: string;
  /** The JSON text the model produced; parse and validate it before use. */
  readonly arguments: string;
  readonly itemId: string;
  readonly responseId: string;
  /** Aborted (with a RealtimeError) when the session drops or closes before the output is sent. */
  readonly signal: AbortSignal;
}

export type RealtimeClientEvents = { [E in HandledServerEvent as E['type']]: [event: E] } & {
  /** The model called a function; run it and answer with `sendFunctionOutput(call.callId, …)`. */
  'response.function_call_arguments.done': [event: ResponseFunctionCallArgumentsDoneEvent, call: ToolCall];
  /**
   * The server's `error` event. Not named 'error': Node's EventEmitter throws an 'error' event
   * nobody listens to, and a refused event must not crash the daemon.
   */
  server_error: [event: RealtimeErrorEvent];
  /** A connect failed (refused key, quota, network, timeout; `closed` when close() aborted it). */
  connect_failed: [error: RealtimeError];
  /** The socket dropped or the server ended the session; `connect` may be called again. */
  disconnected: [error: RealtimeError];
  /** Every server event, after its own event (for recording and metrics). */
  event: [event: RealtimeServerEvent];
};

export type RealtimeClientState = 'idle' | 'connecting' | 'open' | 'disconnected' | 'closed';

export interface RealtimeConnectOptions {
  /** ws:// or wss:// URL including the model, e.g. wss://api.openai.com/v1/realtime?model=gpt-realtime. */
  readonly url: string;
  /** The account's key, just unsealed. Read, never kept; the caller wipes it afterwards. */
  readonly apiKey: Uint8Array;
  /** Covers the upgrade and the server's session.created. Default 10000. */
  readonly timeoutMs?: number;
  /** `bearer` (OpenAI: `Authorization: Bearer …`) or `api-key` (Azure: `api-key: …`). */
  readonly authScheme?: 'bearer' | 'api-key';
}

export interface RealtimeClientOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Wait for session.updated and similar acknowledgements. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Interval of WebSocket pings; a missing pong by the next one drops the socket. 0 = off. Default 15000. */
  readonly pingIntervalMs?: number;
  /** Grace for the closing handshake before the socket is terminated. Default 1000. */
  readonly closeTimeoutMs?: number;
}

interface PendingWait {
  readonly reject: (err: RealtimeError) => void;
}

const MAX_UPGRADE_BODY = 4096;

export class RealtimeClient extends TypedEmitter<RealtimeClientEvents> {
  private ws: WebSocket | null = null;
  private stateValue: RealtimeClientState = 'idle';
  private readonly log: Logger | undefined;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly closeTimeoutMs: number;
  private readonly waits = new Set<PendingWait>();
  private readonly toolCalls = new Map<string, { name: string; controller: AbortController }>();
  /** Call ids abandoned by a drop, so a late output gets a clear error (bounded). */
  private readonly abandoned = new Set<string>();
  private pingTimer: TimerHandle | null = null;
  private awaitingPong = false;
  private lastServerErrorCode: string | undefined;
  private eventSeq = 0;
  private sessionValue: SessionCreatedEvent['session'] | null = null;
  /** Bytes of audio appended since connect, for stats. */
  private appendedBytes = 0;

  constructor(options: RealtimeClientOptions = {}) {
    super();
    this.log = options.logger?.child({ component: 'realtime' });
    this.clock = options.clock ?? systemClock;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.pingIntervalMs = options.pingIntervalMs ?? 15000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 1000;
  }

  get state(): RealtimeClientState {
    return this.stateValue;
  }

  /** The session as the server last reported it (session.created / session.updated). */
  get session(): SessionCreatedEvent['session'] | null {
    return this.sessionValue;
  }

  /** Tool calls received and not yet answered. */
  get pendingToolCalls(): number {
    return this.toolCalls.size;
  }

  get stats(): { appendedBytes: number } {
    return { appendedBytes: this.appendedBytes };
  }

  /**
   * Opens the socket and resolves with the server's session.created. Rejects with a
   * RealtimeError: `auth` (401/403), `quota` (429), `server` (5xx), `network`, `timeout`, or
   * `closed` (close() meanwhile, or called after close()). Bad arguments throw a TypeError at
   * once. May be called again after `disconnected`, never after `close()`.
   */
  connect(options: RealtimeConnectOptions): Promise<SessionCreatedEvent> {
    if (this.stateValue !== 'idle' && this.stateValue !== 'disconnected') {
      return Promise.reject(new RealtimeError('closed', `cannot connect a Realtime session that is ${this.stateValue}`));
    }
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError('url is not a valid URL');
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`url must be ws:// or wss://, got ${url.protocol}`);
    if (!(options.apiKey instanceof Uint8Array) || options.apiKey.length === 0) throw new TypeError('apiKey must be a non-empty Uint8Array');
    for (const b of options.apiKey) {
      // Header-safe printable ASCII only; the message never says which byte.
      if (b < 0x21 || b > 0x7e) throw new TypeError('apiKey contains bytes that cannot go in an HTTP header');
    }
    const timeoutMs = options.timeoutMs ?? 10000;
    if (!(timeoutMs > 0)) throw new TypeError(`timeoutMs must be positive, got ${timeoutMs}`);
    const scheme = options.authScheme ?? 'bearer';

    const headers = authHeader(scheme, options.apiKey);

    this.stateValue = 'connecting';
    this.lastServerErrorCode = undefined;
    this.sessionValue = null;
    this.appendedBytes = 0;
    const where = `${url.protocol}//${url.host}${url.pathname}`;
    this.log?.debug({ url: where, model: url.searchParams.get('model') ?? undefined }, 'realtime connecting');

    return new Promise<SessionCreatedEvent>((resolve, reject) => {
      let settled = false;
      /** Set once the upgrade was refused: the classification decides, not a later socket error. */
      let refused = false;
      // No handshakeTimeout: the one timer below covers the upgrade and session.created together.
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
      this.ws = ws;
      const fail = (failure: RealtimeError): void => {
        if (settled) return;
        settled = true;
        const err = this.stateValue === 'closed' ? new RealtimeError('closed', 'the Realtime session was closed while connecting') : failure;
        timer.cancel();
        this.ws = null;
        ws.removeAllListeners();
        ws.on('error', () => {}); // a late socket error after terminate must not crash
        ws.terminate();
        if (this.stateValue === 'connecting') this.stateValue = 'disconnected';
        this.log?.warn({ error: err.toJSON(), url: where }, 'realtime connect failed');
        this.emit('connect_failed', err);
        reject(err);
      };
      const timer = this.clock.setTimer(timeoutMs, () =>
        fail(new RealtimeError('timeout', `no Realtime session within ${timeoutMs} ms`)),
      );

      ws.on('unexpected-response', (_req, res) => {
        refused = true;
        this.classifyUpgradeRefusal(res, timeoutMs).then(fail, () =>
          fail(new RealtimeError('server', `Realtime upgrade refused with HTTP ${res.statusCode ?? 0}`, { status: res.statusCode })),
        );
      });
      ws.on('error', (err) => {
        if (refused) return;
        // Only the error's code (ECONNREFUSED…) is kept; the cause is not logged.
        const code = (err as NodeJS.ErrnoException).code;
        fail(new RealtimeError('network', `Realtime socket failed${code === undefined ? '' : ` (${code})`}`, { cause: err }));
      });
      ws.on('close', (code) => {
        if (refused) return;
        fail(
          this.lastServerErrorCode === 'session_expired'
            ? new RealtimeError('session_limit', 'the Realtime session ended at its time limit', { closeCode: code })
            : new RealtimeError('network', `Realtime socket closed during connect (code ${code})`, { closeCode: code }),
        );
      });
      ws.on('message', (data, isBinary) => {
        const event = this.parse(data, isBinary);
        if (event === null) return;
        if (!settled && event.type === 'session.created') {
          settled = true;
          timer.cancel();
          ws.removeAllListeners();
          this.attach(ws);
          this.stateValue = 'open';
          this.log?.info({ url: where }, 'realtime session open');
          resolve(event);
        }
        // An `error` before session.created is remembered by dispatch (session_expired → close).
        this.dispatch(event);
      });
    });
  }

  /** Sends session.update and resolves with the server's session.updated. */
  updateSession(session: RealtimeSessionConfig, timeoutMs = this.requestTimeoutMs): Promise<SessionUpdatedEvent> {
    const eventId = this.nextEventId();
    // Sent first, so a closed session throws without leaving a wait behind; the answer cannot
    // arrive before the wait is registered in this same turn of the event loop.
    try {
      this.send({ type: 'session.update', session, event_id: eventId });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.waitFor('session.updated', eventId, timeoutMs);
  }

  /**
   * Appends caller audio in the session's input format: base64 text, or raw bytes (PCM16
   * little-endian, or G.711 codes). Returns false, dropping the audio, while the session is
   * not open (reconnecting): audio cannot wait.
   */
  appendAudio(audio: string | Uint8Array | Int16Array): boolean {
    if (this.stateValue !== 'open' || this.ws === null) return false;
    let b64: string;
    if (typeof audio === 'string') b64 = audio;
    else b64 = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64');
    if (b64.length === 0) return true;
    this.appendedBytes += typeof audio === 'string' ? Math.floor((b64.length * 3) / 4) : audio.byteLength;
    this.send({ type: 'input_audio_buffer.append', audio: b64 });
    return true;
  }

  /** Commits the input buffer as a user item (only needed without server VAD). */
  commit(): void {
    this.send({ type: 'input_audio_buffer.commit' });
  }

  clearInput(): void {
    this.send({ type: 'input_audio_buffer.clear' });
  }

  /** Asks the model to respond (first words, after a tool output, without server VAD). */
  createResponse(response?: RealtimeResponseCreateParams): void {
    this.send(response === undefined ? { type: 'response.create' } : { type: 'response.create', response });
  }

  cancelResponse(responseId?: string): void {
    this.send(responseId === undefined ? { type: 'response.cancel' } : { type: 'response.cancel', response_id: responseId });
  }

  /** Adds an item to the conversation (DTMF digits as user text, restoring a conversation). */
  createItem(item: ConversationItem, previousItemId?: string): void {
    this.send(
      previousItemId === undefined
        ? { type: 'conversation.item.create', item }
        : { type: 'conversation.item.create', item, previous_item_id: previousItemId },
    );
  }

  /** Cuts an assistant item to the audio the caller heard (see barge-in.ts). */
  truncate(itemId: string, contentIndex: number, audioEndMs: number): void {
    if (typeof itemId !== 'string' || itemId === '') throw new TypeError('itemId must be a non-empty string');
    if (!Number.isInteger(contentIndex) || contentIndex < 0) throw new TypeError(`contentIndex must be an integer >= 0, got ${contentIndex}`);
    if (!Number.isInteger(audioEndMs) || audioEndMs < 0) throw new TypeError(`audioEndMs must be an integer >= 0, got ${audioEndMs}`);
    this.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: contentIndex, audio_end_ms: audioEndMs });
  }

  /**
   * Answers a tool call, then (by default) asks the model to go on. Throws a `closed`
   * RealtimeError for a call abandoned by a reconnect: the new session never saw it.
   */
  sendFunctionOutput(callId: string, output: string, options: { respond?: boolean } = {}): void {
    if (typeof output !== 'string') throw new TypeError('output must be a string (JSON text)');
    const call = this.toolCalls.get(callId);
    if (call === undefined) {
      if (this.abandoned.has(callId))
        throw new RealtimeError('closed', `tool call ${callId} was abandoned when the Realtime session dropped`);
      throw new TypeError(`no tool call ${callId} is pending`);
    }
    this.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } });
    this.toolCalls.delete(callId);
    if (options.respond ?? true) this.createResponse();
  }

  /** Closes the session for good; idempotent. Resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.stateValue === 'closed') return Promise.resolve();
    const ws = this.ws;
    this.stateValue = 'closed';
    this.ws = null;
    this.stopPing();
    const err = new RealtimeError('closed', 'the Realtime session was closed');
    this.rejectPending(err);
    if (ws === null) return Promise.resolve();
    this.log?.debug('realtime session closed');
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    if (ws.readyState === WebSocket.CONNECTING) {
      // connect()'s own handlers see the abort and reject it as `closed`.
      ws.terminate();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      // Wait for the closing handshake, then terminate; resolve in any case (a wait with a timeout).
      const hard = this.clock.setTimer(this.closeTimeoutMs, () => {
        ws.terminate();
        resolve();
      });
      ws.once('close', () => {
        hard.cancel();
        resolve();
      });
      ws.close(1000, 'call ended');
    });
  }

  private send(event: RealtimeClientEvent): void {
    const ws = this.ws;
    if (this.stateValue !== 'open' || ws === null) {
      throw new RealtimeError(this.stateValue === 'closed' ? 'closed' : 'network', `cannot send ${event.type}: the Realtime session is ${this.stateValue}`);
    }
    ws.send(JSON.stringify(event));
  }

  private nextEventId(): string {
    return `kalem_${++this.eventSeq}`;
  }

  /** Resolves with the next `type` event, rejects on an error event naming `eventId`, a drop, or the timeout. */
  private waitFor<T extends 'session.updated'>(type: T, eventId: string, timeoutMs: number): Promise<RealtimeClientEvents[T][0]> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        timer.cancel();
        this.waits.delete(wait);
        this.off(type, onEvent);
        this.off('server_error', onError);
      };
      const wait: PendingWait = {
        reject: (err) => {
          cleanup();
          reject(err);
        },
      };
      const onEvent = (ev: RealtimeClientEvents[T][0]): void => {
        cleanup();
        resolve(ev);
      };
      const onError = (ev: RealtimeErrorEvent): void => {
        if (ev.error.event_id !== eventId) return;
        wait.reject(
          new RealtimeError('protocol', `the server refused ${type === 'session.updated' ? 'session.update' : type}: ${ev.error.code ?? ev.error.type}`, {
            serverCode: ev.error.code ?? undefined,
          }),
        );
      };
      const timer = this.clock.setTimer(timeoutMs, () => wait.reject(new RealtimeError('timeout', `no ${type} within ${timeoutMs} ms`)));
      this.waits.add(wait);
      this.on(type, onEvent);
      this.on('server_error', onError);
    });
  }

  /** Wires an open socket's lifetime events. */
  private attach(ws: WebSocket): void {
    ws.on('message', (data, isBinary) => {
      const event = this.parse(data, isBinary);
      if (event !== null) this.dispatch(event);
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      this.log?.warn({ errno: code }, 'realtime socket error');
    });
    ws.on('close', (code) => this.onDropped(ws, code));
    this.startPing(ws);
  }

  private onDropped(ws: WebSocket, code: number): void {
    if (this.ws !== ws || this.stateValue !== 'open') return;
    this.ws = null;
    this.stopPing();
    let err: RealtimeError;
    if (this.lastServerErrorCode === 'session_expired') {
      err = new RealtimeError('session_limit', 'the Realtime session ended at its time limit', { closeCode: code, serverCode: 'session_expired' });
    } else if (code === 1006 || code === 1001) {
      err = new RealtimeError('network', `the Realtime socket dropped (code ${code})`, { closeCode: code });
    } else if (code === 1008) {
      err = new RealtimeError('protocol', `the Realtime server closed the session for a policy violation`, { closeCode: code, serverCode: this.lastServerErrorCode });
    } else {
      err = new RealtimeError('server', `the Realtime server closed the session (code ${code})`, { closeCode: code, serverCode: this.lastServerErrorCode });
    }
    this.stateValue = 'disconnected';
    this.rejectPending(err);
    this.log?.warn({ error: err.toJSON() }, 'realtime session dropped');
    this.emit('disconnected', err);
  }

  private rejectPending(err: RealtimeError): void {
    for (const wait of [...this.waits]) wait.reject(err);
    for (const [callId, call] of this.toolCalls) {
      call.controller.abort(err);
      this.abandoned.add(callId);
      if (this.abandoned.size > 256) this.abandoned.delete(this.abandoned.values().next().value!);
    }
    this.toolCalls.clear();
  }

  private startPing(ws: WebSocket): void {
    if (this.pingIntervalMs <= 0) return;
    const tick = (): void => {
      if (this.ws !== ws) return;
      if (this.awaitingPong) {
        this.log?.warn({ intervalMs: this.pingIntervalMs }, 'realtime socket missed a pong; dropping it');
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping();
      this.pingTimer = this.clock.setTimer(this.pingIntervalMs, tick);
    };
    this.awaitingPong = false;
    this.pingTimer = this.clock.setTimer(this.pingIntervalMs, tick);
  }

  private stopPing(): void {
    this.pingTimer?.cancel();
    this.pingTimer = null;
  }

  private parse(data: WebSocket.RawData, isBinary: boolean): RealtimeServerEvent | null {
    if (isBinary) {
      this.log?.warn('realtime server sent a binary frame; ignored');
      return null;
    }
    let value: unknown;
    try {
      value = JSON.parse(rawToString(data));
    } catch {
      this.log?.warn('realtime server sent a frame that is not JSON; ignored');
      return null;
    }
    if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
      this.log?.warn('realtime server sent an event without a type; ignored');
      return null;
    }
    return value as RealtimeServerEvent;
  }

  private dispatch(event: RealtimeServerEvent): void {
    // Types and ids only: event bodies carry the caller's words and audio.
    this.log?.trace({ type: event.type }, 'realtime event');
    switch (event.type) {
      case 'session.created':
      case 'session.updated':
        this.sessionValue = event.session;
        break;
      case 'error':
        if (event.error.code !== undefined && event.error.code !== null) this.lastServerErrorCode = event.error.code;
        this.log?.warn({ errorType: event.error.type, errorCode: event.error.code, eventId: event.error.event_id }, 'realtime server error');
        this.emit('server_error', event);
        this.emit('event', event);
        return;
      case 'response.function_call_arguments.done': {
        const controller = new AbortController();
        this.toolCalls.set(event.call_id, { name: event.name, controller });
        const call: ToolCall = {
          callId: event.call_id,
          name: event.name,
          arguments: event.arguments,
          itemId: event.item_id,
          responseId: event.response_id,
          signal: controller.signal,
        };
        this.log?.debug({ tool: event.name, callId: event.call_id }, 'realtime tool call');
        this.emit('response.function_call_arguments.done', event, call);
        this.emit('event', event);
        return;
      }
      default:
        break;
    }
    if (HANDLED_SET.has(event.type)) {
      (this.emit as (type: string, ev: RealtimeServerEvent) => boolean)(event.type, event);
    }
    this.emit('event', event);
  }

  /** Turns a refused upgrade into a RealtimeError, reading at most a few KB of its body for the code. */
  private classifyUpgradeRefusal(res: IncomingMessage, timeoutMs: number): Promise<RealtimeError> {
    const status = res.statusCode ?? 0;
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return readBody(res, MAX_UPGRADE_BODY, Math.min(timeoutMs, 2000)).then((body) => {
      // Only the code is kept: OpenAI's messages can quote part of the key.
      const serverCode = errorCodeOf(body);
      if (status === 401 || status === 403)
        return new RealtimeError('auth', `the Realtime API refused the key (HTTP ${status})`, { status, serverCode });
      if (status === 429) {
        // A short rate limit with Retry-After can clear; an exhausted quota cannot.
        const retryable = serverCode === 'rate_limit_exceeded' && retryAfterMs !== undefined;
        return new RealtimeError('quota', `the Realtime API refused the call for quota or rate limits (HTTP 429${serverCode ? `, ${serverCode}` : ''})`, {
          status,
          serverCode,
          retryAfterMs,
          retryable,
        });
      }
      if (status >= 500) return new RealtimeError('server', `the Realtime API failed the upgrade (HTTP ${status})`, { status, serverCode, retryAfterMs });
      return new RealtimeError('protocol', `the Realtime API refused the upgrade (HTTP ${status})`, { status, serverCode });
    });
  }
}

/**
 * The one string that carries the key: the whole header value built in a buffer of its own (not
 * Node's shared pool, where a copy would outlive the call) and decoded once, the buffer wiped.
 * `Bearer ${Buffer.from(key).toString()}` made three copies: a pooled buffer, the key string
 * and the concatenation.
 */
function authHeader(scheme: 'bearer' | 'api-key', key: Uint8Array): Record<string, string> {
  const prefix = scheme === 'bearer' ? 'Bearer ' : '';
  const tmp = Buffer.allocUnsafeSlow(prefix.length + key.length);
  try {
    tmp.write(prefix, 0, 'latin1');
    tmp.set(key, prefix.length);
    const value = tmp.toString('latin1');
    return scheme === 'bearer' ? { Authorization: value } : { 'api-key': value };
  } finally {
    tmp.fill(0);
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function readBody(res: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      clearTimeout(timer);
      res.removeAllListeners('data');
      res.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(finish, timeoutMs);
    timer.unref();
    res.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
      if (size >= limit) finish();
    });
    res.on('end', finish);
    res.on('error', finish);
  });
}

function errorCodeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; type?: unknown } };
    const code = parsed.error?.code ?? parsed.error?.type;
    return typeof code === 'string' && /^[\w.-]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
