import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';

/**
 * `kalem secret test ACCOUNT openai`: is this key accepted by the API the gateway will use?
 * One GET {base}/models, the base derived from `[realtime] base_url` (wss://host/v1/realtime →
 * https://host/v1), with the same auth scheme as calls. The result says the HTTP status and
 * OpenAI's error code, never the key: the key is only ever in the request header.
 */
export interface KeyCheckResult {
  ok: boolean;
  url: string;
  status?: number;
  /** OpenAI's error code (e.g. "invalid_api_key") or a network error's code. */
  code?: string;
  /** How many models the key may list (when ok). */
  models?: number;
}

export function modelsUrl(realtimeBaseUrl: string): string {
  const u = new URL(realtimeBaseUrl);
  u.protocol = u.protocol === 'ws:' ? 'http:' : 'https:';
  u.pathname = u.pathname.replace(/\/realtime\/?$/, '') + '/models';
  u.search = '';
  return u.toString();
}

export function checkOpenAiKey(
  key: Uint8Array,
  opts: { realtimeBaseUrl: string; authScheme: 'bearer' | 'api-key'; timeoutMs?: number },
): Promise<KeyCheckResult> {
  const url = modelsUrl(opts.realtimeBaseUrl);
  const keyText = Buffer.from(key).toString('utf8');
  const headers: Record<string, string> =
    opts.authScheme === 'api-key' ? { 'api-key': keyText } : { authorization: `Bearer ${keyText}` };
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', headers: { ...headers, accept: 'application/json' }, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 1_048_576) chunks.push(c);
      });
      res.on('end', () => {
        let body: { data?: unknown[]; error?: { code?: unknown; type?: unknown } } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          // not JSON: the status says enough
        }
        const status = res.statusCode ?? 0;
        if (status === 200) resolve({ ok: true, url, status, models: Array.isArray(body.data) ? body.data.length : 0 });
        else {
          const code = typeof body.error?.code === 'string' ? body.error.code : typeof body.error?.type === 'string' ? body.error.type : undefined;
          resolve({ ok: false, url, status, ...(code ? { code } : {}) });
        }
      });
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, url, code: err.code ?? 'response error' }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, url, code: err.code ?? 'request error' }));
    req.end();
  });
}
