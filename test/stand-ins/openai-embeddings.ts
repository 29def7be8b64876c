/**
 * STAND-IN for OpenAI's embeddings endpoint (POST /v1/embeddings): NOT the real service.
 *
 * Tests cannot reach OpenAI (and must never spend a tenant's key), so the kb code talks to this
 * plain HTTP server on 127.0.0.1:0 through the real `openai` client (baseURL). It:
 *
 * - checks every request body against a validator typed with the `openai` package's own
 *   EmbeddingCreateParams (every field named, exact field types: when the package's types
 *   change this file stops compiling), records violations (tests assert there are none) and
 *   answers them 400 as the API does;
 * - checks `Authorization: Bearer <the account's key>`; a wrong key gets 401 with a body that
 *   quotes the key it got, as OpenAI's does, so tests can prove no error or log repeats it;
 * - answers with vectors that make retrieval meaningful: hashed counts of the text's content
 *   words (lower-cased, a crude stemmer, stop words dropped), L2-normalised. "When are you
 *   open?" and a chunk saying "we are open Monday to Friday" share "open"; a chunk about
 *   prices shares nothing. Deterministic, so tests can assert rankings;
 * - fails on command (429/5xx with Retry-After, for the retry path) and counts requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
import { combinators, type Validator } from './openai-realtime.js';

const { obj, opt, lit, str, arr, num, subsetOf } = combinators;

/** What the gateway sends: a list of strings, float encoding; the API's other input shapes are not modelled. */
const embeddingRequest = obj<EmbeddingCreateParams>({
  input: subsetOf<EmbeddingCreateParams['input']>()(arr(str)),
  model: str as Validator<EmbeddingCreateParams['model']>,
  dimensions: opt(num(1, 3072, true)),
  encoding_format: opt(lit('float', 'base64')),
  user: opt(str),
});

export function validateEmbeddingRequest(body: unknown): string[] {
  const errors: string[] = [];
  embeddingRequest.check(body, 'body', errors);
  const input = (body as { input?: unknown } | null)?.input;
  if (Array.isArray(input)) {
    if (input.length === 0) errors.push('body.input: must not be empty');
    if (input.length > 2048) errors.push('body.input: at most 2048 inputs per request');
    input.forEach((s, i) => typeof s === 'string' && s === '' && errors.push(`body.input[${i}]: empty string`));
  }
  return errors;
}

const STOP = new Set(
  'a an and are as at be by can do does for from have how i if in is it its me my of on or our please tell that the this to us we what when where which who why will with you your'.split(' '),
);

function stem(w: string): string {
  for (const suffix of ['ing', 'ed', 'es', 's']) if (w.length > suffix.length + 2 && w.endsWith(suffix)) return w.slice(0, -suffix.length);
  return w;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The stand-in's embedding: hashed content-word counts, normalised (a zero text gets a fixed unit vector). */
export function hashedEmbedding(text: string, dimension: number): number[] {
  const v = new Array<number>(dimension).fill(0);
  for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (STOP.has(w)) continue;
    v[fnv1a(stem(w)) % dimension]! += 1;
  }
  const norm = Math.hypot(...v);
  if (norm === 0) {
    v[0] = 1;
    return v;
  }
  return v.map((x) => x / norm);
}

export interface EmbeddingsStandInOptions {
  /** The only key accepted (Authorization: Bearer). */
  readonly apiKey: string;
  readonly dimension?: number;
}

export class OpenAIEmbeddingsStandIn {
  readonly violations: string[] = [];
  /** Every accepted request: its model and inputs. */
  readonly requests: Array<{ model: string; inputs: number }> = [];
  /** Requests answered with an injected failure. */
  failuresServed = 0;
  /** Requests whose client went away before the answer (an aborted lookup). */
  abandoned = 0;
  private failures: Array<{ status: number; retryAfterMs: number }> = [];
  private holdMs = 0;
  private readonly server: http.Server;
  readonly dimension: number;

  private apiKey: string;

  private constructor(opts: EmbeddingsStandInOptions) {
    this.apiKey = opts.apiKey;
    this.dimension = opts.dimension ?? 256;
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  static async start(opts: EmbeddingsStandInOptions): Promise<OpenAIEmbeddingsStandIn> {
    const s = new OpenAIEmbeddingsStandIn(opts);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The baseURL to give the openai client. */
  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** The next `times` requests fail with `status` (429 or 5xx), with a short Retry-After. */
  failNext(status: number, times = 1, retryAfterMs = 5): void {
    for (let i = 0; i < times; i++) this.failures.push({ status, retryAfterMs });
  }

  /** From now on, the key accepted (a gateway helper that makes its own key). */
  acceptKey(key: string): void {
    this.apiKey = key;
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Every answer waits this long first (a slow API, for the latency budget and the filler). */
  delayAnswers(ms: number): void {
    this.holdMs = ms;
  }

  get inputsEmbedded(): number {
    return this.requests.reduce((n, r) => n + r.inputs, 0);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      this.violations.push(`${req.method} ${req.url}: not the embeddings endpoint`);
      return send(404, { error: { message: 'not found', type: 'invalid_request_error', code: null } });
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.apiKey}`) {
      const got = auth.replace(/^Bearer /, '');
      return send(401, {
        error: { message: `Incorrect API key provided: ${got}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      this.violations.push('request body is not JSON');
      return send(400, { error: { message: 'invalid JSON', type: 'invalid_request_error', code: null } });
    }
    const errors = validateEmbeddingRequest(body);
    if (errors.length > 0) {
      this.violations.push(...errors);
      return send(400, { error: { message: errors.join('; '), type: 'invalid_request_error', code: 'invalid_value' } });
    }
    const failure = this.failures.shift();
    if (failure) {
      this.failuresServed++;
      return send(
        failure.status,
        { error: { message: 'stand-in failure', type: failure.status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } },
        { 'retry-after-ms': String(failure.retryAfterMs) },
      );
    }
    if (this.holdMs > 0) {
      let gone = false;
      res.on('close', () => {
        if (!res.writableEnded) gone = true;
      });
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        timer = setTimeout(r, this.holdMs);
        res.on('close', () => r());
      });
      clearTimeout(timer);
      if (gone) {
        this.abandoned++;
        return;
      }
    }
    const p = body as EmbeddingCreateParams & { input: string[] };
    this.requests.push({ model: p.model, inputs: p.input.length });
    const base64 = p.encoding_format === 'base64';
    const response = {
      object: 'list',
      model: p.model,
      data: p.input.map((text, index) => {
        const v = hashedEmbedding(text, this.dimension);
        return {
          object: 'embedding' as const,
          index,
          // The API sends base64 float32 when asked to; the type says number[] for the decoded form.
          embedding: (base64 ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : v) as number[],
        };
      }),
      usage: { prompt_tokens: p.input.length, total_tokens: p.input.length },
    } satisfies CreateEmbeddingResponse;
    send(200, response);
  }
}
