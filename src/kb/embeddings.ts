/**
 * The Embeddings port and its OpenAI implementation, on the account's own key.
 *
 * The key is unsealed when `embed` is called, handed to the `openai` client (which keeps it as
 * the Authorization header string for this one job) and the clear bytes are wiped at once, as
 * the Realtime key is. The client retries 429 and 5xx itself with exponential backoff and
 * honours Retry-After (`maxRetries`); what still fails becomes a coded error whose message is
 * built from the status and OpenAI's error code only: never the key, never the response body
 * (OpenAI's 401 body quotes part of the key), never the text being embedded.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { KalemError } from '../core/errors.js';

export interface EmbedOptions {
  readonly signal?: AbortSignal;
  /** Called after each batch with the number of texts embedded so far. */
  readonly onProgress?: (done: number) => void;
}

export interface Embeddings {
  readonly model: string;
  /** One vector per text, in order. */
  embed(texts: readonly string[], opts?: EmbedOptions): Promise<Float32Array[]>;
}

export interface OpenAIEmbeddingsOptions {
  readonly accountId: string;
  readonly model: string;
  readonly baseURL: string;
  /** Unseals the account's "openai" secret; undefined when the account has none. */
  readonly openKey: () => Uint8Array | undefined;
  readonly wipe: (buf: Uint8Array) => void;
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
}

/** Why an embeddings request failed, for the tool's model message and for tests. */
export type EmbeddingsFailure = 'no_key' | 'auth' | 'rate_limited' | 'upstream' | 'bad_request' | 'timeout' | 'network' | 'aborted' | 'bad_response';

export class EmbeddingsError extends KalemError {
  constructor(
    readonly failure: EmbeddingsFailure,
    message: string,
    readonly status: number | null = null,
  ) {
    super('KALEM_ERR_KB_EMBEDDINGS', message);
    this.name = 'EmbeddingsError';
  }
}

export class OpenAIEmbeddings implements Embeddings {
  readonly model: string;

  constructor(private readonly opts: OpenAIEmbeddingsOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new TypeError('batchSize must be a positive integer');
    this.model = opts.model;
  }

  async embed(texts: readonly string[], eo: EmbedOptions = {}): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const client = this.client();
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.opts.batchSize) {
      const batch = texts.slice(i, i + this.opts.batchSize);
      let res: OpenAI.Embeddings.CreateEmbeddingResponse;
      try {
        res = await client.embeddings.create(
          { model: this.model, input: [...batch], encoding_format: 'float' },
          eo.signal ? { signal: eo.signal } : {},
        );
      } catch (err) {
        throw this.failure(err);
      }
      const data = [...res.data].sort((a, b) => a.index - b.index);
      if (data.length !== batch.length || data.some((d, j) => d.index !== j || !Array.isArray(d.embedding) || d.embedding.length === 0)) {
        throw new EmbeddingsError('bad_response', `the embeddings response for account ${this.opts.accountId} does not match its request`);
      }
      for (const d of data) out.push(Float32Array.from(d.embedding));
      eo.onProgress?.(out.length);
    }
    const dim = out[0]!.length;
    if (out.some((v) => v.length !== dim)) throw new EmbeddingsError('bad_response', 'the embeddings differ in dimension');
    return out;
  }

  private client(): OpenAI {
    const key = this.opts.openKey();
    if (key === undefined) {
      throw new EmbeddingsError(
        'no_key',
        `account ${this.opts.accountId} has no "openai" secret; set it with \`kalem secret set ${this.opts.accountId} openai\``,
      );
    }
    try {
      return new OpenAI({
        apiKey: new TextDecoder().decode(key),
        baseURL: this.opts.baseURL,
        maxRetries: this.opts.maxRetries,
        timeout: this.opts.timeoutMs,
        // The SDK's own log lines would bypass our redaction; errors are reported by us.
        logLevel: 'off',
      });
    } finally {
      this.opts.wipe(key);
    }
  }

  private failure(err: unknown): EmbeddingsError {
    const who = `account ${this.opts.accountId}`;
    if (err instanceof APIUserAbortError) return new EmbeddingsError('aborted', 'the embeddings request was cancelled');
    if (err instanceof APIConnectionTimeoutError) return new EmbeddingsError('timeout', `the embeddings request for ${who} timed out after ${this.opts.timeoutMs} ms`);
    if (err instanceof APIConnectionError) return new EmbeddingsError('network', `the embeddings API at ${hostOf(this.opts.baseURL)} could not be reached`);
    if (err instanceof APIError) {
      const status = err.status ?? 0;
      const code = typeof err.code === 'string' && /^[a-z0-9_]{1,64}$/.test(err.code) ? ` (${err.code})` : '';
      if (status === 401 || status === 403) {
        return new EmbeddingsError(
          'auth',
          `OpenAI refused the "openai" key of ${who} (${status}${code}); store a valid key with \`kalem secret rotate ${this.opts.accountId} openai\``,
          status,
        );
      }
      if (status === 429) return new EmbeddingsError('rate_limited', `OpenAI rate-limited ${who} (429${code}) after ${this.opts.maxRetries} retries; try again later`, status);
      if (status >= 500) return new EmbeddingsError('upstream', `the embeddings API failed (${status}) after ${this.opts.maxRetries} retries; try again later`, status);
      return new EmbeddingsError('bad_request', `OpenAI refused the embeddings request (${status}${code}); check [kb] embedding_model`, status);
    }
    if (err instanceof Error && err.name === 'AbortError') return new EmbeddingsError('aborted', 'the embeddings request was cancelled');
    return new EmbeddingsError('network', 'the embeddings request failed');
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured URL';
  }
}
