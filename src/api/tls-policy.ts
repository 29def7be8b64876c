import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { tlsPolicy } from '../core/tls-policy.js';

/**
 * The admin API's TLS: the gateway's one RFC 9325 policy (src/core/tls-policy.ts, shared with
 * SIP over TLS) with the certificate chain and key read from disk, at start and on every SIGHUP.
 */
export function readTlsFiles(certFile: string, keyFile: string): SecureContextOptions {
  return { ...tlsPolicy(), cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
