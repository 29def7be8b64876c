/**
 * STAND-IN for the OpenAI Realtime API (GA protocol): NOT the real service.
 *
 * The real API cannot be reached from tests (and must never see test traffic on a tenant's key),
 * so the Realtime adapter's tests talk to this `ws` server on 127.0.0.1:0 instead, over plain
 * ws:// (the client takes a URL). What it does:
 *
 * - Checks EVERY client event it receives against runtime validators written here and typed
 *   against the `openai` package's own type definitions: an object validator must name every
 *   field of its openai type, optional fields as optional and required ones as required, with
 *   a validator of exactly the field's type (mutual assignability), so when the package's types
 *   change this file stops compiling instead of drifting. Unknown event types, unknown fields
 *   and mistyped values are recorded as protocol violations (tests assert there are none) and
 *   answered with an `error` event as the real server does.
 *   Deliberately narrower than the API: client events and fields the gateway never sends
 *   (conversation.item.delete/retrieve, output_audio_buffer.clear, transcription sessions, MCP
 *   tools, prompts, tracing) are rejected as "not modelled" rather than validated.
 * - Runs a simple energy VAD on received audio (PCM16 24 kHz, or G.711 μ-law/A-law 8 kHz) with
 *   the session's silence duration and prefix padding, and emits speech_started/speech_stopped,
 *   commits the turn, a transcription and (server_vad create_response) a response. Times are
 *   positions in the received audio, not wall-clock, so the tests are deterministic.
 * - Answers response.create (and VAD turns) with audio — a tone, or the caller's last turn echoed
 *   — as response.output_audio.delta events with transcripts, or with a function call on command;
 *   checks function_call_output against the calls it made and truncate against the audio it sent.
 * - Can refuse the key (HTTP 401 on upgrade, quoting the key it got in the body, as OpenAI's own
 *   401 quotes part of it — the client must never log that body), rate-limit (429), fail (5xx),
 *   drop every socket without a close frame, or end sessions at a session limit (`error`
 *   session_expired, then close).
 * - Records what it received: events, audio duration and level, VAD segments, truncations,
 *   function outputs, whether the Authorization header carried the expected key.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type {
  AudioTranscription,
  ConversationItem,
  ConversationItemCreateEvent,
  ConversationItemTruncateEvent,
  InputAudioBufferAppendEvent,
  InputAudioBufferClearEvent,
  InputAudioBufferCommitEvent,
  RealtimeAudioConfig,
  RealtimeAudioConfigInput,
  RealtimeAudioConfigOutput,
  RealtimeAudioFormats,
  RealtimeAudioInputTurnDetection,
  RealtimeClientEvent,
  RealtimeConversationItemAssistantMessage,
  RealtimeConversationItemFunctionCall,
  RealtimeConversationItemFunctionCallOutput,
  RealtimeConversationItemSystemMessage,
  RealtimeConversationItemUserMessage,
  RealtimeFunctionTool,
  RealtimeReasoning,
  RealtimeResponseCreateAudioOutput,
  RealtimeResponseCreateMcpTool,
  RealtimeResponseCreateParams,
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
  RealtimeToolChoiceConfig,
  RealtimeToolsConfigUnion,
  RealtimeTruncationRetentionRatio,
  ResponseCancelEvent,
  ResponseCreateEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import type { ToolChoiceFunction } from 'openai/resources/responses/responses';
import type { RealtimeResponseUsage } from 'openai/resources/realtime/realtime';
import { TypedEmitter } from '../../src/core/typed-emitter.js';
import { alawDecode, alawEncode, ulawDecode, ulawEncode } from '../../src/media/codecs/reference/g711.js';

// ───────────────────────────── validators typed against the openai package ─────────────────────────────

/**
 * A runtime check for values of type T. The phantom `_t` makes Validator invariant in T, so
 * `Validator<X>` fits where `Validator<T>` is wanted only when X and T accept the same values.
 */
export interface Validator<T> {
  readonly check: (value: unknown, path: string, errors: string[]) => void;
  readonly _t?: (t: T) => T;
}

/** An optional field's validator (required fields take a plain Validator). */
interface Opt<T> {
  readonly optional: Validator<T>;
}

type Inner<V> = V extends Validator<infer T> ? T : never;
type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];
/** Every field of T, no more: optional ones as Opt, required ones as Validator. */
type Shape<T> = {
  readonly [K in keyof T]-?: K extends OptionalKeys<T> ? Opt<Exclude<T[K], undefined>> : Validator<T[K]>;
};

const v = <T>(check: Validator<T>['check']): Validator<T> => ({ check });
const describe = (x: unknown): string => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x);

const str = v<string>((x, p, e) => {
  if (typeof x !== 'string') e.push(`${p}: expected string, got ${describe(x)}`);
});
const nonEmptyStr = v<string>((x, p, e) => {
  if (typeof x !== 'string' || x === '') e.push(`${p}: expected non-empty string, got ${describe(x)}`);
});
const bool = v<boolean>((x, p, e) => {
  if (typeof x !== 'boolean') e.push(`${p}: expected boolean, got ${describe(x)}`);
});
function num(min = -Infinity, max = Infinity, integer = false): Validator<number> {
  return v<number>((x, p, e) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) e.push(`${p}: expected number, got ${describe(x)}`);
    else if (integer && !Number.isInteger(x)) e.push(`${p}: expected integer, got ${x}`);
    else if (x < min || x > max) e.push(`${p}: ${x} is outside ${min}..${max}`);
  });
}
const int = num(-Infinity, Infinity, true);
const nonNegInt = num(0, Infinity, true);
/** Base64 text, as `input_audio_buffer.append.audio` must be. */
const base64 = v<string>((x, p, e) => {
  if (typeof x !== 'string') e.push(`${p}: expected base64 string, got ${describe(x)}`);
  else if (x.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(x)) e.push(`${p}: not valid base64`);
});
/** A JSON schema object (tool parameters are typed `unknown`; the API wants an object). */
const jsonSchema = v<unknown>((x, p, e) => {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) e.push(`${p}: expected a JSON schema object, got ${describe(x)}`);
  else if ((x as { type?: unknown }).type !== 'object') e.push(`${p}.type: tool parameters must be a schema of type "object"`);
});

function lit<const L extends string | number | boolean>(...values: L[]): Validator<L> {
  return v<L>((x, p, e) => {
    if (!values.includes(x as L)) e.push(`${p}: expected ${values.map((l) => JSON.stringify(l)).join(' | ')}, got ${JSON.stringify(x)}`);
  });
}
function arr<T>(item: Validator<T>): Validator<Array<T>> {
  return v<Array<T>>((x, p, e) => {
    if (!Array.isArray(x)) e.push(`${p}: expected array, got ${describe(x)}`);
    else x.forEach((el, i) => item.check(el, `${p}[${i}]`, e));
  });
}
function record<T>(value: Validator<T>): Validator<{ [key: string]: T }> {
  return v<{ [key: string]: T }>((x, p, e) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) e.push(`${p}: expected object, got ${describe(x)}`);
    else for (const [k, el] of Object.entries(x)) value.check(el, `${p}.${k}`, e);
  });
}
function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return v<T | null>((x, p, e) => {
    if (x !== null) inner.check(x, p, e);
  });
}
/** Accepts a value any member accepts; otherwise reports the closest member's complaints. */
function union<Vs extends Validator<any>[]>(...members: Vs): Validator<Inner<Vs[number]>> {
  return v<Inner<Vs[number]>>((x, p, e) => {
    let best: string[] | null = null;
    for (const m of members) {
      const errs: string[] = [];
      m.check(x, p, errs);
      if (errs.length === 0) return;
      if (best === null || errs.length < best.length) best = errs;
    }
    e.push(...(best ?? [`${p}: no alternative`]));
  });
}
function opt<T>(inner: Validator<T>): Opt<T> {
  return { optional: inner };
}
function obj<T>(shape: Shape<T>): Validator<T> {
  const entries = Object.entries(shape) as Array<[string, Validator<unknown> | Opt<unknown>]>;
  const known = new Set(entries.map(([k]) => k));
  return v<T>((x, p, e) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) {
      e.push(`${p}: expected object, got ${describe(x)}`);
      return;
    }
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!known.has(k)) e.push(`${p}.${k}: unknown field`);
    for (const [k, spec] of entries) {
      const isOpt = 'optional' in spec;
      if (!(k in o)) {
        if (!isOpt) e.push(`${p}.${k}: missing required field`);
        continue;
      }
      (isOpt ? spec.optional : spec).check(o[k], `${p}.${k}`, e);
    }
  });
}
/**
 * For a field where the gateway sends only some of the API's alternatives: the validator
 * accepts a subset of T (each member still exact), everything else is a violation.
 */
function subsetOf<T>() {
  return <S extends T>(inner: Validator<S>): Validator<T> => inner as unknown as Validator<T>;
}
/** A field valid in the API that the gateway never sends: any value is a violation. */
function unmodelled(what: string): Validator<any> {
  return v<unknown>((_x, p, e) => e.push(`${p}: ${what} is valid in the API but the gateway never sends it (not modelled by the stand-in)`));
}
/** Dispatches on `type`; an event type not in the map is a violation. */
function byType<M extends Record<string, Validator<any>>>(map: M): Validator<Inner<M[keyof M]>> {
  return v<Inner<M[keyof M]>>((x, p, e) => {
    const type = typeof x === 'object' && x !== null ? (x as { type?: unknown }).type : undefined;
    if (typeof type !== 'string') {
      e.push(`${p}.type: missing event type`);
      return;
    }
    const inner = Object.hasOwn(map, type) ? map[type] : undefined;
    if (inner === undefined) e.push(`${p}.type: unknown or unmodelled client event type ${JSON.stringify(type)}`);
    else inner.check(x, p, e);
  });
}

const status = lit('completed', 'incomplete', 'in_progress');
const modalities = arr(lit('text', 'audio'));
const maxTokens = union(int, lit('inf'));

const audioFormat: Validator<RealtimeAudioFormats> = union(
  obj<RealtimeAudioFormats.AudioPCM>({ rate: opt(lit(24000)), type: opt(lit('audio/pcm')) }),
  obj<RealtimeAudioFormats.AudioPCMU>({ type: opt(lit('audio/pcmu')) }),
  obj<RealtimeAudioFormats.AudioPCMA>({ type: opt(lit('audio/pcma')) }),
);

const transcription = obj<AudioTranscription>({
  delay: opt(lit('minimal', 'low', 'medium', 'high', 'xhigh')),
  language: opt(str),
  model: opt(str),
  prompt: opt(str),
});

const turnDetection: Validator<RealtimeAudioInputTurnDetection> = union(
  obj<RealtimeAudioInputTurnDetection.ServerVad>({
    type: lit('server_vad'),
    create_response: opt(bool),
    idle_timeout_ms: opt(nullable(nonNegInt)),
    interrupt_response: opt(bool),
    prefix_padding_ms: opt(nonNegInt),
    silence_duration_ms: opt(nonNegInt),
    threshold: opt(num(0, 1)),
  }),
  obj<RealtimeAudioInputTurnDetection.SemanticVad>({
    type: lit('semantic_vad'),
    create_response: opt(bool),
    eagerness: opt(lit('low', 'medium', 'high', 'auto')),
    interrupt_response: opt(bool),
  }),
);

const audioInput = obj<RealtimeAudioConfigInput>({
  format: opt(audioFormat),
  noise_reduction: opt(obj<RealtimeAudioConfigInput.NoiseReduction>({ type: opt(lit('near_field', 'far_field')) })),
  transcription: opt(transcription),
  turn_detection: opt(nullable(turnDetection)),
});

const voiceId = obj<RealtimeAudioConfigOutput.ID>({ id: nonEmptyStr });
const audioOutput = obj<RealtimeAudioConfigOutput>({
  format: opt(audioFormat),
  speed: opt(num(0.25, 1.5)),
  voice: opt(union(nonEmptyStr, voiceId)),
});

const functionTool = obj<RealtimeFunctionTool>({
  description: opt(str),
  name: opt(nonEmptyStr),
  parameters: opt(jsonSchema),
  type: opt(lit('function')),
});

const toolChoice: Validator<RealtimeToolChoiceConfig> = subsetOf<RealtimeToolChoiceConfig>()(
  union(lit('none', 'auto', 'required'), obj<ToolChoiceFunction>({ name: nonEmptyStr, type: lit('function') })),
);

const reasoning = obj<RealtimeReasoning>({ effort: opt(lit('minimal', 'low', 'medium', 'high', 'xhigh')) });

const realtimeSession = obj<RealtimeSessionCreateRequest>({
  type: lit('realtime'),
  audio: opt(obj<RealtimeAudioConfig>({ input: opt(audioInput), output: opt(audioOutput) })),
  include: opt(arr(lit('item.input_audio_transcription.logprobs'))),
  instructions: opt(str),
  max_output_tokens: opt(maxTokens),
  model: opt(nonEmptyStr),
  output_modalities: opt(modalities),
  parallel_tool_calls: opt(bool),
  prompt: opt(unmodelled('session.prompt')),
  reasoning: opt(reasoning),
  tool_choice: opt(toolChoice),
  tools: opt(arr(subsetOf<RealtimeToolsConfigUnion>()(functionTool))),
  tracing: opt(unmodelled('session.tracing')),
  truncation: opt(
    union(
      lit('auto', 'disabled'),
      obj<RealtimeTruncationRetentionRatio>({
        retention_ratio: num(0, 1),
        type: lit('retention_ratio'),
        token_limits: opt(obj<RealtimeTruncationRetentionRatio.TokenLimits>({ post_instructions: opt(nonNegInt) })),
      }),
    ),
  ),
});

const itemCommon = { id: opt(str), object: opt(lit('realtime.item')), status: opt(status) } as const;

const conversationItem: Validator<ConversationItem> = subsetOf<ConversationItem>()(
  union(
    obj<RealtimeConversationItemSystemMessage>({
      content: arr(obj<RealtimeConversationItemSystemMessage.Content>({ text: opt(str), type: opt(lit('input_text')) })),
      role: lit('system'),
      type: lit('message'),
      ...itemCommon,
    }),
    obj<RealtimeConversationItemUserMessage>({
      content: arr(
        obj<RealtimeConversationItemUserMessage.Content>({
          audio: opt(base64),
          detail: opt(lit('auto', 'low', 'high')),
          image_url: opt(str),
          text: opt(str),
          transcript: opt(str),
          type: opt(lit('input_text', 'input_audio', 'input_image')),
        }),
      ),
      role: lit('user'),
      type: lit('message'),
      ...itemCommon,
    }),
    obj<RealtimeConversationItemAssistantMessage>({
      content: arr(
        obj<RealtimeConversationItemAssistantMessage.Content>({
          audio: opt(base64),
          text: opt(str),
          transcript: opt(str),
          type: opt(lit('output_text', 'output_audio')),
        }),
      ),
      role: lit('assistant'),
      type: lit('message'),
      ...itemCommon,
    }),
    obj<RealtimeConversationItemFunctionCall>({
      arguments: str,
      name: nonEmptyStr,
      type: lit('function_call'),
      call_id: opt(str),
      ...itemCommon,
    }),
    obj<RealtimeConversationItemFunctionCallOutput>({
      call_id: nonEmptyStr,
      output: str,
      type: lit('function_call_output'),
      ...itemCommon,
    }),
  ),
);

const responseParams = obj<RealtimeResponseCreateParams>({
  audio: opt(
    obj<RealtimeResponseCreateAudioOutput>({
      output: opt(
        obj<RealtimeResponseCreateAudioOutput.Output>({
          format: opt(audioFormat),
          voice: opt(union(nonEmptyStr, obj<RealtimeResponseCreateAudioOutput.Output.ID>({ id: nonEmptyStr }))),
        }),
      ),
    }),
  ),
  conversation: opt(str),
  input: opt(arr(conversationItem)),
  instructions: opt(str),
  max_output_tokens: opt(maxTokens),
  metadata: opt(nullable(record(str))),
  output_modalities: opt(modalities),
  parallel_tool_calls: opt(bool),
  prompt: opt(unmodelled('response.prompt')),
  reasoning: opt(reasoning),
  tool_choice: opt(toolChoice),
  tools: opt(arr(subsetOf<RealtimeFunctionTool | RealtimeResponseCreateMcpTool>()(functionTool))),
});

const eventId = opt(str);

/** Every client event the gateway may send, checked against the openai package's types. */
export const clientEventValidator: Validator<RealtimeClientEvent> = subsetOf<RealtimeClientEvent>()(
  byType({
    'session.update': obj<SessionUpdateEvent>({
      session: subsetOf<SessionUpdateEvent['session']>()(realtimeSession),
      type: lit('session.update'),
      event_id: eventId,
    }),
    'input_audio_buffer.append': obj<InputAudioBufferAppendEvent>({
      audio: base64,
      type: lit('input_audio_buffer.append'),
      event_id: eventId,
    }),
    'input_audio_buffer.commit': obj<InputAudioBufferCommitEvent>({ type: lit('input_audio_buffer.commit'), event_id: eventId }),
    'input_audio_buffer.clear': obj<InputAudioBufferClearEvent>({ type: lit('input_audio_buffer.clear'), event_id: eventId }),
    'conversation.item.create': obj<ConversationItemCreateEvent>({
      item: conversationItem,
      type: lit('conversation.item.create'),
      event_id: eventId,
      previous_item_id: opt(str),
    }),
    'conversation.item.truncate': obj<ConversationItemTruncateEvent>({
      audio_end_ms: nonNegInt,
      content_index: nonNegInt,
      item_id: nonEmptyStr,
      type: lit('conversation.item.truncate'),
      event_id: eventId,
    }),
    'response.create': obj<ResponseCreateEvent>({ type: lit('response.create'), event_id: eventId, response: opt(responseParams) }),
    'response.cancel': obj<ResponseCancelEvent>({ type: lit('response.cancel'), event_id: eventId, response_id: opt(str) }),
  }),
);

/** Errors of `value` as a client event; empty when valid. */
export function validateClientEvent(value: unknown): string[] {
  const errors: string[] = [];
  clientEventValidator.check(value, 'event', errors);
  return errors;
}

// ───────────────────────────── audio helpers ─────────────────────────────

type FormatName = 'audio/pcm' | 'audio/pcmu' | 'audio/pcma';

function formatName(f: RealtimeAudioFormats | undefined): FormatName {
  return f?.type ?? 'audio/pcm';
}
function sampleRate(f: FormatName): number {
  return f === 'audio/pcm' ? 24000 : 8000;
}
function decode(f: FormatName, bytes: Buffer): Int16Array {
  if (f === 'audio/pcmu') return ulawDecode(bytes);
  if (f === 'audio/pcma') return alawDecode(bytes);
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}
function encode(f: FormatName, pcm: Int16Array): Buffer {
  if (f === 'audio/pcmu') return Buffer.from(ulawEncode(pcm));
  if (f === 'audio/pcma') return Buffer.from(alawEncode(pcm));
  const out = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i]!, i * 2);
  return out;
}
export function dbfs(rms: number): number {
  return rms <= 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}
/** A sine tone at `levelDbfs` peak, `durationMs` long, at `rate`. */
export function tone(rate: number, durationMs: number, hz = 440, levelDbfs = -12): Int16Array {
  const n = Math.round((rate * durationMs) / 1000);
  const amp = 32767 * 10 ** (levelDbfs / 20);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

// ───────────────────────────── the server ─────────────────────────────

export interface UpgradeRefusal {
  readonly status: 401 | 403 | 429 | 500 | 503;
  /** OpenAI error code in the body (invalid_api_key, insufficient_quota, rate_limit_exceeded…). */
  readonly code?: string;
  readonly retryAfterS?: number;
  /** How many upgrades to refuse; default all until `refuseUpgrades(null)`. */
  readonly times?: number;
}

/** What the stand-in answers a response with. */
export type ResponseSpec =
  | { readonly kind: 'audio'; readonly source: 'tone' | 'echo'; readonly durationMs?: number; readonly transcript?: string }
  | { readonly kind: 'function_call'; readonly name: string; readonly arguments: string }
  /** A response the server fails, as the API does mid-session when the account's quota runs out. */
  | { readonly kind: 'fail'; readonly code: string };

export interface SpeechSegment {
  readonly startMs: number;
  endMs: number | null;
  /** RMS level of the loud frames, dBFS. */
  rmsDbfs: number;
}

export interface ReceivedAudio {
  bytes: number;
  samples: number;
  /** Milliseconds of audio at the session's input rate. */
  durationMs: number;
  rmsDbfs: number;
  peakDbfs: number;
}

export interface StandInOptions {
  /** The key the stand-in accepts; a different Authorization gets 401. */
  readonly apiKey: string;
  /** Frame RMS above which the energy VAD calls it speech. Default -40 dBFS. */
  readonly vadThresholdDbfs?: number;
  /** What a response is when nothing is queued. */
  readonly defaultResponse?: ResponseSpec;
  /** Milliseconds of audio per output delta. Default 100. */
  readonly deltaMs?: number;
  /** End each session (error session_expired, then close) after this long. */
  readonly sessionLimitMs?: number;
}

type StandInEvents = {
  connection: [conn: StandInConnection];
  received: [conn: StandInConnection, event: RealtimeClientEvent];
  violation: [message: string];
  change: [];
};

let ids = 0;
const nextId = (prefix: string): string => `${prefix}_standin${++ids}`;

export class OpenAIRealtimeStandIn extends TypedEmitter<StandInEvents> {
  readonly connections: StandInConnection[] = [];
  readonly violations: string[] = [];
  /** Upgrades seen (accepted or refused), with whether the key matched. */
  readonly upgrades: Array<{ path: string; authorized: boolean; refusedWith: number | null }> = [];
  readonly responses: ResponseSpec[] = [];
  private refusal: UpgradeRefusal | null = null;
  private refusalsLeft = 0;
  /** Upgrades parked by holdUpgrades(), answered by releaseUpgrades(). */
  private parkedUpgrades: Array<() => void> | null = null;
  /** session.update events seen while held (holdSessionUpdates); session.updated waits. */
  heldSessionUpdates: Array<() => void> | null = null;
  private readonly server: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly rawSockets = new Set<Socket>();
  port = 0;

  constructor(readonly options: StandInOptions) {
    super();
    this.server = http.createServer((_req, res) => {
      res.writeHead(404).end();
    });
    this.server.on('connection', (s: Socket) => {
      this.rawSockets.add(s);
      s.on('close', () => {
        this.rawSockets.delete(s);
        this.changed();
      });
    });
    this.server.on('upgrade', (req, socket: Socket, head) => this.onUpgrade(req, socket, head));
  }

  static async start(options: StandInOptions): Promise<OpenAIRealtimeStandIn> {
    const s = new OpenAIRealtimeStandIn(options);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  url(model = 'gpt-realtime'): string {
    return `ws://127.0.0.1:${this.port}/v1/realtime?model=${encodeURIComponent(model)}`;
  }

  /** Refuses upgrades with an HTTP error until cleared (null) or `times` runs out. */
  refuseUpgrades(refusal: UpgradeRefusal | null): void {
    this.refusal = refusal;
    this.refusalsLeft = refusal?.times ?? Infinity;
  }

  /**
   * Parks every WebSocket upgrade (the client stays "connecting") until releaseUpgrades(); a
   * client that gives up meanwhile leaves a dead socket, which is then not upgraded.
   */
  holdUpgrades(): void {
    this.parkedUpgrades ??= [];
  }

  /** TCP connections from clients still open (upgraded or not). */
  get openSockets(): number {
    return this.rawSockets.size;
  }

  get upgradesParked(): number {
    return this.parkedUpgrades?.length ?? 0;
  }

  releaseUpgrades(): void {
    const parked = this.parkedUpgrades ?? [];
    this.parkedUpgrades = null;
    for (const go of parked) go();
  }

  /** Withholds session.updated (the client waits in updateSession) until releaseSessionUpdates(). */
  holdSessionUpdates(): void {
    this.heldSessionUpdates ??= [];
  }

  releaseSessionUpdates(): void {
    const held = this.heldSessionUpdates ?? [];
    this.heldSessionUpdates = null;
    for (const go of held) go();
  }

  /** Queues what the next response will be. */
  queueResponse(spec: ResponseSpec): void {
    this.responses.push(spec);
  }

  get latest(): StandInConnection {
    const c = this.connections[this.connections.length - 1];
    if (c === undefined) throw new Error('stand-in: no connection yet');
    return c;
  }

  /** Drops every socket without a close frame (the client sees 1006). */
  dropAll(): void {
    for (const c of this.connections) c.drop();
  }

  /** Ends every open session as at the API's session limit. */
  expireAll(): void {
    for (const c of this.connections) c.expire();
  }

  /** Resolves once `predicate` holds, re-checked on every change; rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.off('change', onChange);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('change', onChange);
        reject(new Error(`stand-in: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.on('change', onChange);
    });
  }

  /** @internal */
  violation(message: string): void {
    this.violations.push(message);
    this.emit('violation', message);
  }

  /** @internal */
  changed(): void {
    this.emit('change');
  }

  /** @internal */
  received(conn: StandInConnection, ev: RealtimeClientEvent): void {
    this.emit('received', conn, ev);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.stop();
    for (const client of this.wss.clients) client.terminate();
    for (const s of this.rawSockets) s.destroy();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.parkedUpgrades !== null) {
      // A client that gives up closes its end; http leaves an upgrade socket half-open otherwise.
      const onEnd = (): void => void socket.destroy();
      socket.once('end', onEnd);
      socket.on('error', () => undefined);
      this.parkedUpgrades.push(() => {
        socket.off('end', onEnd);
        if (!socket.destroyed) this.onUpgrade(req, socket, head);
      });
      this.changed();
      return;
    }
    const auth = req.headers.authorization;
    const authorized = auth === `Bearer ${this.options.apiKey}`;
    const path = req.url ?? '/';
    let refusal: { status: number; code: string; message: string; retryAfterS?: number } | null = null;
    if (this.refusal !== null && this.refusalsLeft > 0) {
      this.refusalsLeft--;
      const r = this.refusal;
      refusal = {
        status: r.status,
        code: r.code ?? (r.status === 429 ? 'insufficient_quota' : r.status >= 500 ? 'server_error' : 'invalid_api_key'),
        message: `stand-in refusal ${r.status}`,
        ...(r.retryAfterS === undefined ? {} : { retryAfterS: r.retryAfterS }),
      };
    } else if (!authorized) {
      // As OpenAI's own 401 does (partly), quote the key received: the client must not log this body.
      const got = auth?.replace(/^Bearer /, '') ?? '';
      refusal = { status: 401, code: 'invalid_api_key', message: `Incorrect API key provided: ${got}.` };
    }
    this.upgrades.push({ path, authorized, refusedWith: refusal?.status ?? null });
    if (refusal !== null) {
      const body = JSON.stringify({ error: { type: 'invalid_request_error', code: refusal.code, message: refusal.message, param: null } });
      socket.end(
        `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status] ?? 'Error'}\r\n` +
          'Content-Type: application/json\r\n' +
          (refusal.retryAfterS === undefined ? '' : `Retry-After: ${refusal.retryAfterS}\r\n`) +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      this.changed();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const model = new URL(path, 'http://x').searchParams.get('model') ?? 'gpt-realtime';
      const conn = new StandInConnection(this, ws, model, this.connections.length);
      this.connections.push(conn);
      this.emit('connection', conn);
      this.changed();
    });
  }
}

/** One Realtime session as the stand-in sees it. */
export class StandInConnection {
  readonly received: RealtimeClientEvent[] = [];
  readonly audio: ReceivedAudio = { bytes: 0, samples: 0, durationMs: 0, rmsDbfs: -Infinity, peakDbfs: -Infinity };
  readonly segments: SpeechSegment[] = [];
  readonly truncations: Array<{ itemId: string; audioEndMs: number }> = [];
  readonly functionOutputs: Array<{ callId: string; output: string }> = [];
  readonly sentEvents: RealtimeServerEvent[] = [];
  /** The `usage` of each response.done sent (the gateway's usage row must add up to these). */
  readonly usageSent: RealtimeResponseUsage[] = [];
  session: RealtimeSessionCreateRequest;
  closed = false;
  private sumSquares = 0;
  private peak = 0;
  /** Samples since the current VAD frame began. */
  private frame: number[] = [];
  private frameSumSquares = 0;
  private inSpeech = false;
  private loudRun = 0;
  private quietMs = 0;
  private lastLoudEndMs = 0;
  private segmentSquares = 0;
  private segmentSamples = 0;
  /** The caller's audio of the current/last turn, decoded, for echo. */
  private turnPcm: Int16Array[] = [];
  private lastTurnPcm: Int16Array = new Int16Array(0);
  private bufferedSinceCommitMs = 0;
  private currentItemId: string | null = null;
  private readonly assistantAudioMs = new Map<string, number>();
  private readonly openCalls = new Set<string>();
  private activeResponse: { id: string; cancelled: boolean } | null = null;
  private limitTimer: NodeJS.Timeout | null = null;
  /** WebSocket pings received from the client (ws answers each with a pong by itself). */
  pings = 0;
  private readonly pingWaiters = new Set<{ n: number; resolve: () => void }>();

  /** Resolves once the client has sent `n` pings; rejects after `timeoutMs`. */
  waitForPings(n: number, timeoutMs: number): Promise<void> {
    if (this.pings >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        n,
        resolve: () => {
          clearTimeout(timer);
          this.pingWaiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.pingWaiters.delete(w);
        reject(new Error(`fewer than ${n} pings within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pingWaiters.add(w);
    });
  }

  constructor(
    private readonly standIn: OpenAIRealtimeStandIn,
    private readonly ws: WebSocket,
    model: string,
    readonly index: number,
  ) {
    this.session = {
      type: 'realtime',
      model,
      instructions: '',
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy' },
      },
      tools: [],
      tool_choice: 'auto',
    };
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('ping', () => {
      this.pings++;
      for (const w of [...this.pingWaiters]) if (this.pings >= w.n) w.resolve();
    });
    ws.on('close', () => {
      this.closed = true;
      this.stop();
      standIn.changed();
    });
    ws.on('error', () => {});
    if (standIn.options.sessionLimitMs !== undefined) {
      this.limitTimer = setTimeout(() => this.expire(), standIn.options.sessionLimitMs);
    }
    this.sendEvent({ type: 'session.created', event_id: nextId('event'), session: structuredClone(this.session) });
  }

  get inputFormat(): FormatName {
    return formatName(this.session.audio?.input?.format);
  }

  get outputFormat(): FormatName {
    return formatName(this.session.audio?.output?.format);
  }

  /**
   * Stops reading the socket without closing it: a half-open connection. Pings go unanswered
   * and nothing the client sends is seen.
   */
  freeze(): void {
    (this.ws as unknown as { _socket: Socket })._socket.pause();
  }

  /** Closes the TCP connection without a close frame (the client sees 1006). */
  drop(): void {
    this.stop();
    this.ws.terminate();
  }

  expire(): void {
    if (this.closed) return;
    this.sendEvent({
      type: 'error',
      event_id: nextId('event'),
      error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration.' },
    });
    this.ws.close(1000, 'session expired');
  }

  stop(): void {
    if (this.limitTimer !== null) clearTimeout(this.limitTimer);
    this.limitTimer = null;
    if (this.activeResponse !== null) this.activeResponse.cancelled = true;
  }

  /** Makes the model call a function now (as if it decided to), outside any response.create. */
  callFunction(name: string, args: string): string {
    const callId = nextId('call');
    void this.runResponse({ kind: 'function_call', name, arguments: args }, callId);
    return callId;
  }

  /** Starts a response now, as response.create would. */
  respond(spec?: ResponseSpec): void {
    void this.runResponse(spec ?? this.nextSpec());
  }

  private sendEvent(ev: RealtimeServerEvent): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.sentEvents.push(ev.type === 'response.output_audio.delta' ? { ...ev, delta: `<${ev.delta.length} base64 chars>` } : ev);
    this.ws.send(JSON.stringify(ev));
  }

  private refuse(clientEventId: string | undefined, code: string, message: string): void {
    this.standIn.violation(`connection ${this.index}: ${message}`);
    this.sendEvent({
      type: 'error',
      event_id: nextId('event'),
      error: { type: 'invalid_request_error', code, message, event_id: clientEventId ?? null },
    });
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.refuse(undefined, 'invalid_event', 'binary frame: the Realtime API takes JSON text frames only');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
    } catch {
      this.refuse(undefined, 'invalid_json', 'frame is not JSON');
      return;
    }
    const errors = validateClientEvent(value);
    const eid = typeof value === 'object' && value !== null ? (value as { event_id?: unknown }).event_id : undefined;
    if (errors.length > 0) {
      this.refuse(typeof eid === 'string' ? eid : undefined, 'invalid_event', errors.join('; '));
      this.standIn.changed();
      return;
    }
    const ev = value as RealtimeClientEvent;
    this.received.push(ev.type === 'input_audio_buffer.append' ? { ...ev, audio: `<${ev.audio.length} base64 chars>` } : ev);
    this.handle(ev);
    this.standIn.received(this, ev);
    this.standIn.changed();
  }

  private handle(ev: RealtimeClientEvent): void {
    switch (ev.type) {
      case 'session.update': {
        if (ev.session.type !== 'realtime') return; // unreachable: the validator allows realtime only
        const prev = this.session;
        const next = ev.session;
        this.session = {
          ...prev,
          ...next,
          audio: {
            input: { ...prev.audio?.input, ...next.audio?.input },
            output: { ...prev.audio?.output, ...next.audio?.output },
          },
        };
        const updated = structuredClone(this.session);
        const answer = (): void => this.sendEvent({ type: 'session.updated', event_id: nextId('event'), session: updated });
        if (this.standIn.heldSessionUpdates !== null) this.standIn.heldSessionUpdates.push(answer);
        else answer();
        return;
      }
      case 'input_audio_buffer.append':
        this.onAudio(Buffer.from(ev.audio, 'base64'), ev.event_id);
        return;
      case 'input_audio_buffer.commit':
        if (this.bufferedSinceCommitMs < 100) {
          this.refuse(ev.event_id, 'input_audio_buffer_commit_empty', `commit with ${this.bufferedSinceCommitMs.toFixed(0)} ms buffered; at least 100 ms needed`);
          return;
        }
        this.commitTurn();
        return;
      case 'input_audio_buffer.clear':
        this.bufferedSinceCommitMs = 0;
        this.turnPcm = [];
        this.sendEvent({ type: 'input_audio_buffer.cleared', event_id: nextId('event') });
        return;
      case 'conversation.item.create': {
        const item = ev.item;
        if (item.type === 'function_call_output') {
          if (!this.openCalls.has(item.call_id)) {
            this.refuse(ev.event_id, 'invalid_value', `function_call_output for unknown call_id ${item.call_id}`);
            return;
          }
          this.openCalls.delete(item.call_id);
          this.functionOutputs.push({ callId: item.call_id, output: item.output });
        }
        const id = item.id ?? nextId('item');
        const stored = { ...item, id } as ConversationItem;
        this.sendEvent({ type: 'conversation.item.created', event_id: nextId('event'), item: stored, previous_item_id: null });
        return;
      }
      case 'conversation.item.truncate': {
        const sentMs = this.assistantAudioMs.get(ev.item_id);
        if (sentMs === undefined) {
          this.refuse(ev.event_id, 'item_not_found', `truncate of unknown item ${ev.item_id}`);
          return;
        }
        if (ev.audio_end_ms > sentMs) {
          this.refuse(ev.event_id, 'invalid_value', `audio_end_ms ${ev.audio_end_ms} is past the item's ${sentMs} ms of audio`);
          return;
        }
        this.truncations.push({ itemId: ev.item_id, audioEndMs: ev.audio_end_ms });
        this.sendEvent({
          type: 'conversation.item.truncated',
          event_id: nextId('event'),
          item_id: ev.item_id,
          content_index: ev.content_index,
          audio_end_ms: ev.audio_end_ms,
        });
        return;
      }
      case 'response.create':
        if (this.activeResponse !== null) {
          this.refuse(ev.event_id, 'conversation_already_has_active_response', 'response.create while a response is active');
          return;
        }
        this.respond();
        return;
      case 'response.cancel':
        if (this.activeResponse === null) {
          // The real API answers this with an error event; it is not a protocol violation.
          this.sendEvent({
            type: 'error',
            event_id: nextId('event'),
            error: { type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'no active response', event_id: ev.event_id ?? null },
          });
          return;
        }
        this.activeResponse.cancelled = true;
        return;
      default:
        // The validator accepted it, so the stand-in must handle it: a gap here is a stand-in bug.
        this.standIn.violation(`connection ${this.index}: stand-in does not handle ${ev.type}`);
    }
  }

  private onAudio(bytes: Buffer, clientEventId: string | undefined): void {
    const f = this.inputFormat;
    if (f === 'audio/pcm' && bytes.length % 2 !== 0) {
      this.refuse(clientEventId, 'invalid_value', `PCM16 append of ${bytes.length} bytes: not whole samples`);
      return;
    }
    const pcm = decode(f, bytes);
    const rate = sampleRate(f);
    const a = this.audio;
    a.bytes += bytes.length;
    a.samples += pcm.length;
    a.durationMs = (a.samples * 1000) / rate;
    for (const s of pcm) {
      this.sumSquares += s * s;
      if (Math.abs(s) > this.peak) this.peak = Math.abs(s);
    }
    a.rmsDbfs = dbfs(Math.sqrt(this.sumSquares / Math.max(1, a.samples)));
    a.peakDbfs = dbfs(this.peak);
    this.bufferedSinceCommitMs += (pcm.length * 1000) / rate;
    this.turnPcm.push(pcm);
    this.runVad(pcm, rate);
  }

  /** 10 ms frames; speech after 2 loud frames, silence after the session's silence duration. */
  private runVad(pcm: Int16Array, rate: number): void {
    const td = this.session.audio?.input?.turn_detection ?? null;
    if (td === null) return;
    const frameLen = rate / 100;
    const threshold = this.standIn.options.vadThresholdDbfs ?? -40;
    const silenceMs = td.type === 'server_vad' ? (td.silence_duration_ms ?? 500) : 500;
    const prefixMs = td.type === 'server_vad' ? (td.prefix_padding_ms ?? 300) : 300;
    const samplesBefore = this.audio.samples - pcm.length;
    for (let i = 0; i < pcm.length; i++) {
      const s = pcm[i]!;
      this.frame.push(s);
      this.frameSumSquares += s * s;
      if (this.frame.length < frameLen) continue;
      const frameEndMs = ((samplesBefore + i + 1) * 1000) / rate;
      const rms = Math.sqrt(this.frameSumSquares / frameLen);
      const loud = dbfs(rms) > threshold;
      if (loud) {
        this.loudRun++;
        this.quietMs = 0;
        this.lastLoudEndMs = frameEndMs;
        this.segmentSquares += this.frameSumSquares;
        this.segmentSamples += frameLen;
      } else {
        this.loudRun = 0;
        this.quietMs += 10;
      }
      if (!this.inSpeech && this.loudRun >= 2) {
        this.inSpeech = true;
        const onsetMs = frameEndMs - 20;
        const startMs = Math.max(0, Math.round(onsetMs - prefixMs));
        this.currentItemId = nextId('item');
        this.segments.push({ startMs: Math.round(onsetMs), endMs: null, rmsDbfs: -Infinity });
        this.sendEvent({ type: 'input_audio_buffer.speech_started', event_id: nextId('event'), item_id: this.currentItemId, audio_start_ms: startMs });
        if (this.activeResponse !== null && td.interrupt_response !== false) this.activeResponse.cancelled = true;
      } else if (this.inSpeech && this.quietMs >= silenceMs) {
        this.inSpeech = false;
        const seg = this.segments[this.segments.length - 1]!;
        seg.endMs = Math.round(this.lastLoudEndMs);
        seg.rmsDbfs = dbfs(Math.sqrt(this.segmentSquares / Math.max(1, this.segmentSamples)));
        this.segmentSquares = 0;
        this.segmentSamples = 0;
        this.sendEvent({
          type: 'input_audio_buffer.speech_stopped',
          event_id: nextId('event'),
          item_id: this.currentItemId!,
          audio_end_ms: Math.round(this.lastLoudEndMs + silenceMs),
        });
        this.commitTurn();
        if (td.create_response !== false && this.activeResponse === null) this.respond();
      }
      this.frame = [];
      this.frameSumSquares = 0;
    }
  }

  private commitTurn(): void {
    const itemId = this.currentItemId ?? nextId('item');
    this.currentItemId = null;
    const total = this.turnPcm.reduce((n, c) => n + c.length, 0);
    const joined = new Int16Array(total);
    let o = 0;
    for (const c of this.turnPcm) {
      joined.set(c, o);
      o += c.length;
    }
    this.lastTurnPcm = joined;
    this.turnPcm = [];
    this.bufferedSinceCommitMs = 0;
    this.sendEvent({ type: 'input_audio_buffer.committed', event_id: nextId('event'), item_id: itemId, previous_item_id: null });
    if (this.session.audio?.input?.transcription !== undefined) {
      const ms = Math.round((joined.length * 1000) / sampleRate(this.inputFormat));
      this.sendEvent({
        type: 'conversation.item.input_audio_transcription.completed',
        event_id: nextId('event'),
        item_id: itemId,
        content_index: 0,
        transcript: `[${ms} ms of caller audio]`,
        usage: { type: 'duration', seconds: ms / 1000 },
      });
    }
  }

  private nextSpec(): ResponseSpec {
    return this.standIn.responses.shift() ?? this.standIn.options.defaultResponse ?? { kind: 'audio', source: 'tone', durationMs: 600, transcript: 'Hello from the stand-in.' };
  }

  private async runResponse(spec: ResponseSpec, callId: string = nextId('call')): Promise<void> {
    const responseId = nextId('resp');
    const active = { id: responseId, cancelled: false };
    this.activeResponse = active;
    const itemId = nextId('item');
    this.sendEvent({ type: 'response.created', event_id: nextId('event'), response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } });
    let finalItem: ConversationItem;
    if (spec.kind === 'fail') {
      if (this.activeResponse === active) this.activeResponse = null;
      this.sendEvent({
        type: 'response.done',
        event_id: nextId('event'),
        response: { id: responseId, object: 'realtime.response', status: 'failed', status_details: { type: 'failed', error: { type: 'invalid_request_error', code: spec.code } }, output: [] },
      });
      this.standIn.changed();
      return;
    }
    if (spec.kind === 'function_call') {
      this.openCalls.add(callId);
      const item: RealtimeConversationItemFunctionCall = { id: itemId, type: 'function_call', name: spec.name, call_id: callId, arguments: '', status: 'in_progress', object: 'realtime.item' };
      this.sendEvent({ type: 'response.output_item.added', event_id: nextId('event'), response_id: responseId, output_index: 0, item });
      this.sendEvent({ type: 'response.function_call_arguments.delta', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, call_id: callId, delta: spec.arguments });
      this.sendEvent({ type: 'response.function_call_arguments.done', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, call_id: callId, name: spec.name, arguments: spec.arguments });
      finalItem = { ...item, arguments: spec.arguments, status: 'completed' };
      this.sendEvent({ type: 'response.output_item.done', event_id: nextId('event'), response_id: responseId, output_index: 0, item: finalItem });
    } else {
      const outFormat = this.outputFormat;
      const rate = sampleRate(outFormat);
      let pcm: Int16Array;
      if (spec.source === 'echo' && this.lastTurnPcm.length > 0) {
        pcm = this.lastTurnPcm;
        const inRate = sampleRate(this.inputFormat);
        if (inRate !== rate) pcm = resampleNearest(pcm, inRate, rate);
      } else pcm = tone(rate, spec.durationMs ?? 600);
      const transcript = spec.transcript ?? 'Hello from the stand-in.';
      const item: RealtimeConversationItemAssistantMessage = { id: itemId, type: 'message', role: 'assistant', content: [], status: 'in_progress', object: 'realtime.item' };
      this.sendEvent({ type: 'response.output_item.added', event_id: nextId('event'), response_id: responseId, output_index: 0, item });
      this.sendEvent({ type: 'conversation.item.added', event_id: nextId('event'), item, previous_item_id: null });
      this.sendEvent({ type: 'response.content_part.added', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript: '' } });
      this.assistantAudioMs.set(itemId, 0);
      const perDelta = Math.round((rate * (this.standIn.options.deltaMs ?? 100)) / 1000);
      const words = transcript.split(' ');
      const chunks = Math.max(1, Math.ceil(pcm.length / perDelta));
      let heardTranscript = '';
      for (let i = 0, c = 0; i < pcm.length; i += perDelta, c++) {
        if (active.cancelled || this.closed) break;
        const chunk = pcm.subarray(i, Math.min(pcm.length, i + perDelta));
        this.sendEvent({ type: 'response.output_audio.delta', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta: encode(outFormat, chunk).toString('base64') });
        this.assistantAudioMs.set(itemId, Math.round(((i + chunk.length) * 1000) / rate));
        const wordsNow = words.slice(Math.floor((c * words.length) / chunks), Math.floor(((c + 1) * words.length) / chunks));
        if (wordsNow.length > 0) {
          const delta = (heardTranscript === '' ? '' : ' ') + wordsNow.join(' ');
          heardTranscript += delta;
          this.sendEvent({ type: 'response.output_audio_transcript.delta', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta });
        }
        // Yield between deltas so cancel, truncate and VAD interleave as they would on the wire.
        await new Promise((r) => setImmediate(r));
      }
      this.sendEvent({ type: 'response.output_audio.done', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 });
      this.sendEvent({ type: 'response.output_audio_transcript.done', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, transcript: heardTranscript });
      this.sendEvent({ type: 'response.content_part.done', event_id: nextId('event'), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript: heardTranscript } });
      finalItem = { ...item, content: [{ type: 'output_audio', transcript: heardTranscript }], status: active.cancelled ? 'incomplete' : 'completed' };
      this.sendEvent({ type: 'response.output_item.done', event_id: nextId('event'), response_id: responseId, output_index: 0, item: finalItem });
    }
    if (this.activeResponse === active) this.activeResponse = null;
    // Made-up but deterministic counts in OpenAI's shape: one input audio token per 100 ms heard
    // so far, one output token per item, a fixed text part and cached share.
    const inputAudio = Math.round(this.audio.durationMs / 100);
    const usage: RealtimeResponseUsage = {
      input_tokens: inputAudio + 12,
      output_tokens: 7,
      total_tokens: inputAudio + 19,
      input_token_details: { audio_tokens: inputAudio, text_tokens: 12, cached_tokens: 4 },
      output_token_details: { audio_tokens: 5, text_tokens: 2 },
    };
    this.usageSent.push(usage);
    this.sendEvent({
      type: 'response.done',
      event_id: nextId('event'),
      response: {
        id: responseId,
        object: 'realtime.response',
        status: active.cancelled ? 'cancelled' : 'completed',
        ...(active.cancelled ? { status_details: { type: 'cancelled', reason: 'turn_detected' } } : {}),
        output: [finalItem],
        usage,
      },
    });
    this.standIn.changed();
  }
}

function resampleNearest(pcm: Int16Array, from: number, to: number): Int16Array {
  const n = Math.round((pcm.length * to) / from);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm[Math.min(pcm.length - 1, Math.floor((i * from) / to))]!;
  return out;
}

/** The combinators, for the type-level tests of the drift guard (test/realtime/validator-types.test.ts). */
export const combinators = { obj, opt, lit, str, bool, num, arr, union, nullable, subsetOf } as const;
