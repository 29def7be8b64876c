/**
 * The one TLS policy for every listener and client of the gateway (SIP over TLS today, the admin
 * HTTPS API next), after RFC 9325 (BCP 195, 2022):
 *
 *  - TLS 1.2 and 1.3 only; 1.3 is preferred (a 1.3-capable peer always gets it).
 *  - TLS 1.2 only with ephemeral ECDH key exchange (forward secrecy; §4.1: no static RSA key
 *    transport, no finite-field DHE) and AEAD ciphers (§4.2: AES-GCM, ChaCha20-Poly1305); no CBC
 *    suite (Lucky13 and the like), no SHA-1 MAC, no RC4, 3DES, NULL or anonymous suites.
 *  - TLS 1.3: its three standard AEAD suites.
 *  - The server chooses (honorCipherOrder), strongest first; X25519 and P-256 (P-384 kept for
 *    peers that insist) for key exchange.
 *
 * Use it by spreading `tlsPolicy()` into tls.createSecureContext, tls.connect, https.createServer
 * or fastify's `https` option. It returns a fresh object each call, so nobody can change the
 * policy for everyone by mutating it.
 */

/** TLS 1.3 suites (OpenSSL names). */
export const TLS13_CIPHERSUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'] as const;

/** TLS 1.2 suites: ECDHE key exchange, AEAD ciphers only (OpenSSL names). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
] as const;

export interface TlsPolicyOptions {
  minVersion: 'TLSv1.2';
  maxVersion: 'TLSv1.3';
  /** Node takes TLS 1.3 and 1.2 suites in one colon-separated list. */
  ciphers: string;
  ecdhCurve: string;
  honorCipherOrder: true;
}

export function tlsPolicy(): TlsPolicyOptions {
  return {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...TLS13_CIPHERSUITES, ...TLS12_CIPHERS].join(':'),
    ecdhCurve: 'X25519:P-256:P-384',
    honorCipherOrder: true,
  };
}
