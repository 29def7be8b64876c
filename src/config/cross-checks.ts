/**
 * Rules that span a value's meaning rather than its type (the schema checks types and ranges).
 * Each problem names the key path and what would be accepted, like the schema's own messages.
 */
import type { KalemConfig } from './schema.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function crossFieldProblems(config: KalemConfig): string[] {
  const problems: string[] = [];
  const base = config.realtime.base_url;
  let url: URL | null = null;
  try {
    url = new URL(base);
  } catch {
    problems.push(`realtime.base_url: ${JSON.stringify(base)} is not a URL (expected wss://host/path)`);
  }
  if (url !== null) {
    if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
      problems.push(`realtime.base_url: expected a wss:// URL, got ${url.protocol}//`);
    } else if (url.protocol === 'ws:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      // Every call sends the tenant's OpenAI key in the upgrade request: never in clear over a network.
      problems.push(`realtime.base_url: ws:// (no TLS) is only allowed to a loopback host; use wss:// for ${url.hostname}`);
    }
    if (url.searchParams.has('model')) problems.push('realtime.base_url: leave out ?model=; each agent\'s model is added per call');
  }
  return problems;
}
