/**
 * Agent → session.update. Each built event is also run through the OpenAI STAND-IN's validator
 * (typed against the openai package), so a config the real API would refuse fails here.
 */
import t from 'tap';
import {
  audioFormatFor,
  buildSessionConfig,
  firstWordsResponse,
  sessionUpdateEvent,
  toolsFor,
} from '../../src/realtime/session-config.js';
import { validateClientEvent } from '../stand-ins/openai-realtime.js';
import { agent } from './helpers.js';

const webhook = {
  name: 'lookup_order',
  description: 'Look an order up by its number.',
  parameters: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] },
  url: 'https://hooks.example.com/order',
};

t.test('PCM16 agent with server VAD and every tool', async (t) => {
  const a = agent({
    model: 'gpt-realtime',
    voice: 'marin',
    instructions: 'You answer for ACME.',
    turnDetection: { type: 'server_vad', threshold: 0.6, prefixPaddingMs: 250, silenceDurationMs: 450 },
    tools: { endCall: true, transferTarget: 'sip:desk@pbx.example.com', webhooks: [webhook] },
  });
  const s = buildSessionConfig(a);
  t.same(s, {
    type: 'realtime',
    model: 'gpt-realtime',
    instructions: 'You answer for ACME.',
    output_modalities: ['audio'],
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        turn_detection: {
          type: 'server_vad',
          threshold: 0.6,
          prefix_padding_ms: 250,
          silence_duration_ms: 450,
          create_response: true,
          interrupt_response: true,
        },
        transcription: { model: 'gpt-4o-mini-transcribe' },
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
    },
    tools: s.tools,
    tool_choice: 'auto',
  });
  const names = (s.tools ?? []).map((x) => ('name' in x ? x.name : undefined));
  t.same(names, ['end_call', 'transfer_call', 'send_dtmf', 'lookup_order']);
  const hook = s.tools?.[3];
  t.same(hook, { type: 'function', name: 'lookup_order', description: webhook.description, parameters: webhook.parameters });
  t.same(validateClientEvent(sessionUpdateEvent(s, 'evt_1')), [], 'the stand-in validator accepts it');
});

t.test('an agent that stores no transcripts asks OpenAI for no input transcription', async (t) => {
  const s = buildSessionConfig(agent({ storeTranscripts: false }));
  t.notOk(s.audio?.input && 'transcription' in s.audio.input, 'no transcription requested');
  t.same(buildSessionConfig(agent({ storeTranscripts: true })).audio?.input?.transcription, { model: 'gpt-4o-mini-transcribe' }, 'one that stores them does');
  t.same(
    buildSessionConfig(agent({ storeTranscripts: false }), { transcription: { model: 'gpt-4o-transcribe' } }).audio?.input?.transcription,
    { model: 'gpt-4o-transcribe' },
    'an explicit option still wins',
  );
  t.same(validateClientEvent(sessionUpdateEvent(s)), []);
});

t.test('G.711 pass-through and semantic VAD', async (t) => {
  const a = agent({ audioMode: 'g711', turnDetection: { type: 'semantic_vad', eagerness: 'high' } });
  for (const [codec, type] of [
    ['PCMU', 'audio/pcmu'],
    ['PCMA', 'audio/pcma'],
  ] as const) {
    const s = buildSessionConfig(a, { carrierCodec: codec, transcription: null });
    t.same(s.audio?.input?.format, { type }, `${codec} in`);
    t.same(s.audio?.output?.format, { type }, `${codec} out`);
    t.same(s.audio?.input?.turn_detection, { type: 'semantic_vad', eagerness: 'high', create_response: true, interrupt_response: true });
    t.notOk(s.audio?.input && 'transcription' in s.audio.input, 'transcription off');
    t.same(validateClientEvent(sessionUpdateEvent(s)), []);
  }
  t.same(audioFormatFor(a, 'opus'), { type: 'audio/pcm', rate: 24000 }, 'a codec that cannot pass through falls back to PCM16');
  t.same(audioFormatFor(agent({ audioMode: 'pcm16' }), 'PCMU'), { type: 'audio/pcm', rate: 24000 }, 'pcm16 agents always transcode');
});

t.test('tools follow the agent settings', async (t) => {
  t.same(
    toolsFor(agent({ tools: { endCall: false, transferTarget: null, webhooks: [] } }), false),
    [],
    'no tools at all',
  );
  const none = buildSessionConfig(agent({ tools: { endCall: false, transferTarget: null, webhooks: [] } }), { sendDtmf: false });
  t.equal(none.tool_choice, 'none');
  t.throws(() => toolsFor(agent({ tools: { endCall: true, transferTarget: null, webhooks: [{ ...webhook, name: 'end_call' }] } })), TypeError, 'a webhook cannot shadow a built-in');
  t.throws(() => toolsFor(agent({ tools: { endCall: true, transferTarget: null, webhooks: [webhook, webhook] } })), TypeError, 'duplicate names');
  t.throws(() => toolsFor(agent({ tools: { endCall: true, transferTarget: null, webhooks: [{ ...webhook, name: 'has space' }] } })), TypeError);
  t.throws(
    () => buildSessionConfig(agent({ turnDetection: { type: 'server_vad', threshold: 1.5, prefixPaddingMs: 0, silenceDurationMs: 200 } })),
    TypeError,
  );
});

t.test('first words become a response.create the stand-in accepts', async (t) => {
  t.equal(firstWordsResponse(agent({ firstWords: null })), null);
  t.equal(firstWordsResponse(agent({ firstWords: '  ' })), null);
  const r = firstWordsResponse(agent({ firstWords: 'Hello, ACME here.' }));
  t.match(r?.response?.instructions ?? '', /Hello, ACME here\./);
  t.same(validateClientEvent(r), []);
});
