/**
 * Agent settings → the body of the GA Realtime `session.update` event.
 *
 * Typed with the `openai` package's own types (type-only imports, nothing of the package runs),
 * so a misspelt or misplaced field is a compile error here, and the stand-in in
 * test/stand-ins/openai-realtime.ts checks the same shapes at run time.
 *
 * Pure: no I/O, no clock. The tool names are the contract with tools/: the model calls them by
 * these names and the bridge dispatches on them.
 */
import type {
  AudioTranscription,
  RealtimeAudioFormats,
  RealtimeAudioInputTurnDetection,
  RealtimeFunctionTool,
  RealtimeSessionCreateRequest,
  ResponseCreateEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import type { Agent, TurnDetection } from '../tenancy/model.js';

export const END_CALL_TOOL = 'end_call';
export const TRANSFER_CALL_TOOL = 'transfer_call';
export const SEND_DTMF_TOOL = 'send_dtmf';
/** kb_search is built by tools/kb-search.ts (an extra tool of the call); its name is reserved here all the same. */
export const KB_SEARCH_TOOL_NAME = 'kb_search';
export const BUILTIN_TOOLS: ReadonlySet<string> = new Set([END_CALL_TOOL, TRANSFER_CALL_TOOL, SEND_DTMF_TOOL, KB_SEARCH_TOOL_NAME]);

/** OpenAI's rule for function names. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The session half of `session.update` for a voice agent (never a transcription session). */
export type RealtimeSessionConfig = RealtimeSessionCreateRequest;

/** The carrier leg's negotiated codec, as the media layer names it. */
export type CarrierCodec = 'PCMU' | 'PCMA' | (string & {});

export interface SessionConfigOptions {
  /**
   * The codec negotiated with the carrier. With `audioMode: 'g711'` and PCMU/PCMA, audio passes
   * straight through as `audio/pcmu`/`audio/pcma`; any other codec (Opus, G.722) cannot, and
   * the session falls back to PCM16 at 24 kHz.
   */
  readonly carrierCodec?: CarrierCodec | null;
  /**
   * Transcription of the caller's speech; null turns it off. Default: gpt-4o-mini-transcribe when
   * the agent stores transcripts, and none when it does not (data minimisation: OpenAI is not
   * asked to produce text nobody keeps).
   */
  readonly transcription?: AudioTranscription | null;
  /** Whether the model gets the send_dtmf tool (IVR navigation). Default true. */
  readonly sendDtmf?: boolean;
  /** Tools the call adds beyond the agent's own (kb_search when the agent has knowledge bases). */
  readonly extraTools?: readonly RealtimeFunctionTool[];
}

export const DEFAULT_TRANSCRIPTION: AudioTranscription = { model: 'gpt-4o-mini-transcribe' };

/** The one 24 kHz PCM16 format the GA API takes for linear audio. */
export const PCM16_24K: RealtimeAudioFormats.AudioPCM = { type: 'audio/pcm', rate: 24000 };

/** The audio format both directions use for this agent on this carrier codec. */
export function audioFormatFor(agent: Pick<Agent, 'audioMode'>, carrierCodec: CarrierCodec | null = null): RealtimeAudioFormats {
  if (agent.audioMode === 'g711') {
    if (carrierCodec === 'PCMU') return { type: 'audio/pcmu' };
    if (carrierCodec === 'PCMA') return { type: 'audio/pcma' };
  }
  return { ...PCM16_24K };
}

export function turnDetectionConfig(td: TurnDetection): RealtimeAudioInputTurnDetection {
  if (td.type === 'server_vad') {
    if (!(td.threshold >= 0 && td.threshold <= 1)) throw new TypeError(`server_vad threshold must be 0..1, got ${td.threshold}`);
    if (!(Number.isInteger(td.prefixPaddingMs) && td.prefixPaddingMs >= 0))
      throw new TypeError(`prefixPaddingMs must be a non-negative integer, got ${td.prefixPaddingMs}`);
    if (!(Number.isInteger(td.silenceDurationMs) && td.silenceDurationMs > 0))
      throw new TypeError(`silenceDurationMs must be a positive integer, got ${td.silenceDurationMs}`);
    return {
      type: 'server_vad',
      threshold: td.threshold,
      prefix_padding_ms: td.prefixPaddingMs,
      silence_duration_ms: td.silenceDurationMs,
      // The server answers on its own when the caller stops, and cancels its answer when the
      // caller talks over it; the gateway flushes its own queue and truncates on speech_started.
      create_response: true,
      interrupt_response: true,
    };
  }
  return { type: 'semantic_vad', eagerness: td.eagerness, create_response: true, interrupt_response: true };
}

/** The function tools this agent offers the model, built-ins first. */
export function toolsFor(agent: Pick<Agent, 'tools'>, sendDtmf = true, extra: readonly RealtimeFunctionTool[] = []): RealtimeFunctionTool[] {
  const tools: RealtimeFunctionTool[] = [];
  if (agent.tools.endCall) {
    tools.push({
      type: 'function',
      name: END_CALL_TOOL,
      description:
        'End the phone call. Say goodbye first; the line is hung up after your last words have played.',
      parameters: {
        type: 'object',
        properties: { reason: { type: 'string', description: 'Why the call ends, for the call record.' } },
        additionalProperties: false,
      },
    });
  }
  if (agent.tools.transferTarget !== null) {
    tools.push({
      type: 'function',
      name: TRANSFER_CALL_TOOL,
      description:
        'Transfer the caller to a human colleague. Tell the caller first. If the transfer fails you will be told, and the conversation continues.',
      parameters: {
        type: 'object',
        properties: { reason: { type: 'string', description: 'Why the caller is transferred.' } },
        additionalProperties: false,
      },
    });
  }
  if (sendDtmf) {
    tools.push({
      type: 'function',
      name: SEND_DTMF_TOOL,
      description: 'Press telephone keys (DTMF), for example to navigate an automated phone menu.',
      parameters: {
        type: 'object',
        properties: {
          digits: { type: 'string', pattern: '^[0-9*#A-Da-d]{1,32}$', description: 'Keys to press, in order.' },
        },
        required: ['digits'],
        additionalProperties: false,
      },
    });
  }
  tools.push(...extra);
  const seen = new Set(tools.map((t) => t.name));
  for (const hook of agent.tools.webhooks) {
    if (!TOOL_NAME.test(hook.name)) throw new TypeError(`webhook tool name ${JSON.stringify(hook.name)} must match ${TOOL_NAME}`);
    if (BUILTIN_TOOLS.has(hook.name) || seen.has(hook.name))
      throw new TypeError(`webhook tool name ${JSON.stringify(hook.name)} is already taken`);
    seen.add(hook.name);
    tools.push({ type: 'function', name: hook.name, description: hook.description, parameters: hook.parameters });
  }
  return tools;
}

export function buildSessionConfig(agent: Agent, options: SessionConfigOptions = {}): RealtimeSessionConfig {
  const format = audioFormatFor(agent, options.carrierCodec ?? null);
  const transcription = options.transcription === undefined ? (agent.storeTranscripts ? DEFAULT_TRANSCRIPTION : null) : options.transcription;
  const tools = toolsFor(agent, options.sendDtmf ?? true, options.extraTools ?? []);
  const session: RealtimeSessionConfig = {
    type: 'realtime',
    model: agent.model,
    instructions: agent.instructions,
    output_modalities: ['audio'],
    audio: {
      input: {
        format,
        turn_detection: turnDetectionConfig(agent.turnDetection),
        ...(transcription === null ? {} : { transcription: { ...transcription } }),
      },
      output: { format: { ...format }, voice: agent.voice },
    },
    tools,
    tool_choice: tools.length > 0 ? 'auto' : 'none',
  };
  return session;
}

/** Wraps a session config in the client event that carries it. */
export function sessionUpdateEvent(session: RealtimeSessionConfig, eventId?: string): SessionUpdateEvent {
  return eventId === undefined ? { type: 'session.update', session } : { type: 'session.update', session, event_id: eventId };
}

/**
 * The agent's optional first words: a response whose instructions tell the model to say them
 * verbatim, sent once the session is configured (before or at 200 OK).
 */
export function firstWordsResponse(agent: Pick<Agent, 'firstWords'>): ResponseCreateEvent | null {
  if (agent.firstWords === null || agent.firstWords.trim() === '') return null;
  return {
    type: 'response.create',
    response: {
      instructions: `Greet the caller by saying exactly this, and nothing else: ${agent.firstWords}`,
      output_modalities: ['audio'],
    },
  };
}
