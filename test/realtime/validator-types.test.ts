/**
 * The OpenAI STAND-IN's validators cannot drift from the `openai` package's types: this file is
 * checked by tsc, and every `@ts-expect-error` below is a drift the compiler must catch. If the
 * guard ever loosens (a shape stops requiring every field, Validator becomes covariant…), the
 * directive is unused and the build fails. The runtime half checks the complete validator works.
 */
import t from 'tap';
import type { AudioTranscription, RealtimeAudioInputTurnDetection } from 'openai/resources/realtime/realtime';
import { combinators } from '../stand-ins/openai-realtime.js';

const { obj, opt, lit, str, bool, num } = combinators;
const delay = opt(lit('minimal', 'low', 'medium', 'high', 'xhigh'));

const complete = obj<AudioTranscription>({ delay, language: opt(str), model: opt(str), prompt: opt(str) });

// @ts-expect-error a field of the openai type is missing (language)
obj<AudioTranscription>({ delay, model: opt(str), prompt: opt(str) });
// @ts-expect-error a field the openai type does not have
obj<AudioTranscription>({ delay, language: opt(str), model: opt(str), prompt: opt(str), speed: opt(num()) });
// @ts-expect-error an optional field validated as required
obj<AudioTranscription>({ delay, language: str, model: opt(str), prompt: opt(str) });
// @ts-expect-error the wrong value type
obj<AudioTranscription>({ delay, language: opt(bool), model: opt(str), prompt: opt(str) });
// @ts-expect-error a narrower set of literals than the API allows
obj<AudioTranscription>({ delay: opt(lit('low', 'high')), language: opt(str), model: opt(str), prompt: opt(str) });

obj<RealtimeAudioInputTurnDetection.SemanticVad>({
  // @ts-expect-error a wider type than the API's literal
  type: str,
  create_response: opt(bool),
  eagerness: opt(lit('low', 'medium', 'high', 'auto')),
  interrupt_response: opt(bool),
});

t.test('the complete validator accepts and refuses at run time', async (t) => {
  const errs = (x: unknown): string[] => {
    const e: string[] = [];
    complete.check(x, 'x', e);
    return e;
  };
  t.same(errs({ model: 'whisper-1', language: 'de', delay: 'low' }), []);
  t.same(errs({ model: 1 }), ['x.model: expected string, got number']);
  t.same(errs({ speed: 1 }), ['x.speed: unknown field']);
});
