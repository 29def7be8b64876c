import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { tlsPolicy } from '../core/tls-policy.js';
import { kalemError } from '../core/errors.js';

/**
 * The admin API's TLS: the gateway's one RFC 9325 policy (src/core/tls-policy.ts, shared with
 * SIP over TLS) with the certificate chain and key read from disk, at start and on every SIGHUP.
 */
export function readTlsFiles(certFile: string, keyFile: string): SecureContextOptions {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw kalemError('KALEM_ERR_CONFIG_INVALID', `api.${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return { ...tlsPolicy(), cert: read('tls_cert_file', certFile), key: read('tls_key_file', keyFile) };
}
