import type { RealtimeResponseUsage } from 'openai/resources/realtime/realtime';

import { NO_TOKENS, type TokenUsage } from '../tenancy/model.js';

export { NO_TOKENS, type TokenUsage };

const count = (n: number | undefined): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.trunc(n) : 0);

/**
 * Sums the `usage` of each `response.done` (OpenAI bills per response). Pure: the bridge feeds it,
 * the CDR's summary carries the totals, and the usage row is written from them at the end of the
 * call. Counts only; nothing of the response's content.
 */
export class UsageMeter {
  private readonly totals: TokenUsage = { ...NO_TOKENS };

  add(usage: RealtimeResponseUsage | undefined): void {
    if (!usage) return;
    const t = this.totals;
    t.inputTokens += count(usage.input_tokens);
    t.outputTokens += count(usage.output_tokens);
    t.inputAudioTokens += count(usage.input_token_details?.audio_tokens);
    t.inputTextTokens += count(usage.input_token_details?.text_tokens);
    t.cachedTokens += count(usage.input_token_details?.cached_tokens);
    t.outputAudioTokens += count(usage.output_token_details?.audio_tokens);
    t.outputTextTokens += count(usage.output_token_details?.text_tokens);
  }

  toJSON(): TokenUsage {
    return { ...this.totals };
  }
}
