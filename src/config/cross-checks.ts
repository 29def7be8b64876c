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
  const api = config.api;
  if (api.port !== -1 && !/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/.test(api.listen_address)) {
    // Bearer tokens and tenant data never cross a network in clear.
    problems.push(`api.listen_address: plain HTTP listens only on loopback (127.0.0.1, ::1), got ${api.listen_address}; use https_port with tls_cert_file and tls_key_file`);
  }
  if ((api.tls_cert_file === null) !== (api.tls_key_file === null)) {
    problems.push('api.tls_cert_file and api.tls_key_file are set together or not at all');
  }
  problems.push(...kbProblems(config));
  return problems;
}

/** [kb]: the account's OpenAI key travels to embeddings_base_url; Qdrant needs its URL. */
function kbProblems(config: KalemConfig): string[] {
  const problems: string[] = [];
  const kb = config.kb;
  try {
    const u = new URL(kb.embeddings_base_url);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname))) {
      problems.push(`kb.embeddings_base_url: expected an https:// URL (http:// only to a loopback host), got ${u.protocol}//${u.hostname}`);
    }
  } catch {
    problems.push(`kb.embeddings_base_url: ${JSON.stringify(kb.embeddings_base_url)} is not a URL`);
  }
  if (kb.backend === 'qdrant' && kb.qdrant_url === null) problems.push('kb.backend = "qdrant" needs kb.qdrant_url');
  if (kb.qdrant_url !== null) {
    try {
      const u = new URL(kb.qdrant_url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`kb.qdrant_url: expected http:// or https://, got ${u.protocol}//`);
    } catch {
      problems.push(`kb.qdrant_url: ${JSON.stringify(kb.qdrant_url)} is not a URL`);
    }
  }
  if (kb.chunk_overlap_tokens >= kb.chunk_tokens) problems.push('kb.chunk_overlap_tokens must be smaller than kb.chunk_tokens');
  return problems;
}
