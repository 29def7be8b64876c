import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

/**
 * The TLS policy of the admin API, after RFC 9325 (BCP 195): TLS 1.3 preferred, TLS 1.2 allowed
 * only with ephemeral ECDHE key exchange and AEAD ciphers (AES-GCM, ChaCha20-Poly1305); no TLS
 * 1.0/1.1, no static RSA key exchange, no CBC, no RC4/3DES. The server picks from its own order.
 * The TLS 1.3 suites are all AEAD and need no list.
 *
 * (Written here because no shared TLS policy module for SIP existed on this branch when the API
 * was built; when one lands, the API should use it instead of this file.)
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_POLICY: Pick<TlsOptions, 'minVersion' | 'ciphers' | 'honorCipherOrder' | 'ecdhCurve'> = {
  minVersion: 'TLSv1.2',
  ciphers: TLS12_CIPHERS,
  honorCipherOrder: true,
  ecdhCurve: 'X25519:prime256v1:secp384r1',
};

/** Reads the certificate chain and key (at start and on every SIGHUP) into context options. */
export function readTlsFiles(certFile: string, keyFile: string): SecureContextOptions {
  return { ...TLS_POLICY, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
