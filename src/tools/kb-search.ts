/**
 * The kb_search tool: the model asks a question, the account's knowledge bases linked to the
 * agent answer with their nearest chunks and source names.
 *
 * A KbLookup is one call's own small part (DESIGN.md, ownership): it holds the lookups in flight,
 * each with its own AbortController tied to the tool call's signal and to the latency budget, and
 * `close()` (called by the call when it ends) aborts them all, which cancels the embeddings and
 * Qdrant HTTP requests underneath. A closed lookup refuses new searches.
 *
 * Resolves with the JSON text for the model and never throws: a failed lookup is something to
 * tell the model ("say you cannot check right now"), not a reason to drop the call. Messages
 * name no host, status or key.
 */
import type { RealtimeFunctionTool } from 'openai/resources/realtime/realtime';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

export const KB_SEARCH_TOOL = 'kb_search';

/** One chunk as the search gives it (kb/knowledge-service.ts KbHit). */
export interface KbSearchHit {
  readonly score: number;
  readonly text: string;
  readonly source: string;
}

/** The search itself, scoped to one account and its bases (the daemon passes KnowledgeService.search). */
export type KbSearchFn = (
  accountId: string,
  baseIds: readonly string[],
  query: string,
  opts: { k: number; minScore: number; signal: AbortSignal },
) => Promise<readonly KbSearchHit[]>;

export interface KbLookupOptions {
  readonly search: KbSearchFn;
  readonly accountId: string;
  readonly bases: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  readonly k: number;
  readonly minScore: number;
  /** Latency budget of one lookup (embedding + vector search), ms. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface KbLookupResult {
  readonly ok: boolean;
  /** For the transcript's tool turn and the CDR: counts only, never the chunk text. */
  readonly note: string;
  readonly output: string;
}

const MAX_QUERY_CHARS = 500;

/** The function definition the model gets: what the tool is for and when to use it. */
export function kbSearchDefinition(baseNames: readonly string[]): RealtimeFunctionTool {
  return {
    type: 'function',
    name: KB_SEARCH_TOOL,
    description:
      `Search the business's own knowledge base (${baseNames.join(', ')}) for facts: opening hours, prices, ` +
      'services, policies, addresses, procedures. Use it before answering any question about the business whose ' +
      'answer is not in your instructions, and never guess such facts. Answer from the returned passages and ' +
      'mention nothing about searching; if nothing relevant comes back, say you do not know and offer another way to help.',
    parameters: {
      type: 'object',
      properties: {
        query: {
          type: 'string',
          description: "The caller's question as a short, self-contained search query, e.g. \"opening hours on Saturday\".",
        },
      },
      required: ['query'],
      additionalProperties: false,
    },
  };
}

export class KbLookup {
  private readonly inFlight = new Set<AbortController>();
  private closed = false;
  readonly definition: RealtimeFunctionTool;

  constructor(private readonly opts: KbLookupOptions) {
    this.definition = kbSearchDefinition(opts.bases.map((b) => b.name));
  }

  get pending(): number {
    return this.inFlight.size;
  }

  async run(args: Record<string, unknown>, signal: AbortSignal): Promise<KbLookupResult> {
    const query = typeof args['query'] === 'string' ? args['query'].trim().slice(0, MAX_QUERY_CHARS) : '';
    if (query === '') return { ok: false, note: 'no query', output: JSON.stringify({ error: 'call kb_search with a non-empty "query"' }) };
    if (this.closed) return { ok: false, note: 'call closed', output: JSON.stringify({ error: 'the search was cancelled' }) };
    const controller = new AbortController();
    let timedOut = false;
    const deadline = this.opts.clock.setTimer(this.opts.timeoutMs, () => {
      timedOut = true;
      controller.abort();
    });
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) controller.abort();
    this.inFlight.add(controller);
    try {
      const hits = await this.opts.search(
        this.opts.accountId,
        this.opts.bases.map((b) => b.id),
        query,
        { k: this.opts.k, minScore: this.opts.minScore, signal: controller.signal },
      );
      if (controller.signal.aborted) throw new Error('aborted');
      const results = hits.map((h) => ({ source: h.source, text: h.text, score: Math.round(h.score * 1000) / 1000 }));
      return {
        ok: true,
        note: `${results.length} passage(s)`,
        output: JSON.stringify(
          results.length > 0
            ? { results }
            : { results: [], note: 'Nothing in the knowledge base matches. Say you do not know; do not guess.' },
        ),
      };
    } catch (err) {
      const cancelled = !timedOut && (signal.aborted || this.closed);
      this.opts.log.warn(
        { tool: KB_SEARCH_TOOL, timedOut, cancelled, code: (err as { code?: unknown }).code, err: cancelled ? undefined : (err as Error).message },
        'kb_search failed',
      );
      const error = timedOut
        ? 'the knowledge base did not answer in time; tell the caller you cannot check this right now'
        : cancelled
          ? 'the search was cancelled'
          : 'the knowledge base could not be searched; tell the caller you cannot check this right now';
      return { ok: false, note: timedOut ? 'timeout' : cancelled ? 'cancelled' : 'failed', output: JSON.stringify({ error }) };
    } finally {
      signal.removeEventListener('abort', onAbort);
      deadline.cancel();
      this.inFlight.delete(controller);
    }
  }

  /** Aborts every lookup in flight; idempotent. The call closes it when it ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inFlight) c.abort();
  }
}
