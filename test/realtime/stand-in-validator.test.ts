/**
 * The OpenAI STAND-IN's client-event validator on its own: it must accept what the API accepts
 * (of what the gateway sends) and name what it refuses.
 */
import t from 'tap';
import { validateClientEvent } from '../stand-ins/openai-realtime.js';

t.test('valid client events pass', async (t) => {
  for (const ev of [
    { type: 'session.update', session: { type: 'realtime', instructions: 'x', audio: { output: { voice: { id: 'voice_123' } } } } },
    { type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null, noise_reduction: { type: 'near_field' } } }, truncation: { type: 'retention_ratio', retention_ratio: 0.5 } } },
    { type: 'input_audio_buffer.append', audio: 'AAAA', event_id: 'e1' },
    { type: 'input_audio_buffer.commit' },
    { type: 'input_audio_buffer.clear' },
    { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'DTMF 1 2 #' }] } },
    { type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'earlier reply' }] } },
    { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'c1', output: '{}' } },
    { type: 'conversation.item.truncate', item_id: 'i', content_index: 0, audio_end_ms: 120 },
    { type: 'response.create', response: { tool_choice: { type: 'function', name: 'end_call' }, metadata: { k: 'v' }, max_output_tokens: 'inf' } },
    { type: 'response.cancel', response_id: 'r1' },
  ]) {
    t.same(validateClientEvent(ev), [], ev.type);
  }
});

t.test('invalid client events are named precisely', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'conversation.item.delete', item_id: 'x' }, /unmodelled client event type "conversation.item.delete"/],
    [{ type: 'output_audio_buffer.clear' }, /unmodelled client event type/],
    [{ audio: 'AAAA' }, /missing event type/],
    [{ type: 'input_audio_buffer.append', audio: 'AAA' }, /not valid base64/],
    [{ type: 'input_audio_buffer.append' }, /event\.audio: missing required field/],
    [{ type: 'input_audio_buffer.commit', extra: 1 }, /event\.extra: unknown field/],
    [{ type: 'session.update', session: { instructions: 'x' } }, /event\.session\.type: missing required field/],
    [{ type: 'session.update', session: { type: 'transcription' } }, /expected "realtime"/],
    [{ type: 'session.update', session: { type: 'realtime', input_audio_format: 'pcm16' } }, /input_audio_format: unknown field/],
    [{ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } }, /rate: expected 24000/],
    [{ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 3 } } } } }, /threshold: 3 is outside 0\.\.1/],
    [{ type: 'session.update', session: { type: 'realtime', tools: [{ type: 'function', name: 'x', parameters: 'nope' }] } }, /parameters: expected a JSON schema object/],
    [{ type: 'session.update', session: { type: 'realtime', prompt: { id: 'p' } } }, /not modelled by the stand-in/],
    [{ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'c1', output: { ok: true } } }, /output: expected string, got object/],
    [{ type: 'conversation.item.create', item: { type: 'message', role: 'robot', content: [] } }, /role/],
    [{ type: 'conversation.item.truncate', item_id: 'i', content_index: 0, audio_end_ms: 12.5 }, /expected integer/],
    [{ type: 'response.create', response: { modalities: ['audio'] } }, /response\.modalities: unknown field/],
    ['not an object', /missing event type/],
  ];
  for (const [ev, re] of cases) {
    const errs = validateClientEvent(ev);
    t.ok(errs.length > 0, `refused: ${JSON.stringify(ev).slice(0, 80)}`);
    t.match(errs.join('; '), re);
  }
});
