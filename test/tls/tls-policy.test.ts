import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { TlsTransport } from '../../src/sip/embedded/transport/tls-transport.js';
import { TLS12_CIPHERS, tlsPolicy } from '../../src/core/tls-policy.js';

/**
 * Issue 10 item 12: SIP over TLS follows RFC 9325. An RSA certificate, so that static-RSA key
 * transport and ECDHE-RSA CBC suites would be possible at all if the policy allowed them.
 */
const dir = mkdtempSync(join(tmpdir(), 'kalem-tls-policy-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
  { cwd: dir, stdio: 'ignore' },
);
const cert = readFileSync(join(dir, 'cert.pem'));
const key = readFileSync(join(dir, 'key.pem'));

/** Connects with the client options given; resolves with the negotiated protocol and cipher, or the error. */
function handshake(port: number, opts: tls.ConnectionOptions): Promise<{ ok: true; protocol: string | null; cipher: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: cert, ...opts });
    s.once('secureConnect', () => {
      resolve({ ok: true, protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.destroy();
    });
    s.once('error', (err) => resolve({ ok: false, error: err.message }));
  });
}

t.test('SIP TLS: 1.3 and 1.2 ECDHE-GCM accepted; CBC, RSA key transport and TLS 1.1 refused', async (t) => {
  const tr = new TlsTransport({ host: '127.0.0.1', port: 0, cert, key });
  t.teardown(() => tr.close());
  tr.on('warning', () => undefined);
  const { port } = await tr.listen();

  const v13 = await handshake(port, {});
  t.match(v13, { ok: true, protocol: 'TLSv1.3' }, 'TLS 1.3 by default');
  const gcm = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
  t.match(gcm, { ok: true, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' }, 'TLS 1.2 with ECDHE and AES-GCM');
  const chacha = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' });
  t.match(chacha, { ok: true, protocol: 'TLSv1.2' }, 'TLS 1.2 with ECDHE and ChaCha20-Poly1305');

  for (const [suite, what] of [
    ['ECDHE-RSA-AES128-SHA', 'ECDHE with a CBC cipher'],
    ['ECDHE-RSA-AES256-SHA384', 'ECDHE with CBC and SHA-384'],
    ['AES128-GCM-SHA256', 'static RSA key transport (even with GCM)'],
    ['AES256-SHA', 'static RSA key transport with CBC'],
    ['DHE-RSA-AES128-GCM-SHA256', 'finite-field DHE'],
  ] as const) {
    const r = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: suite });
    t.equal(r.ok, false, `refused: ${what} (${suite})${r.ok ? ` — negotiated ${r.cipher}` : ''}`);
  }
  // Allow TLS 1.1 on the client side at all (OpenSSL 3 refuses it at its default security level).
  const old = await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  t.equal(old.ok, false, 'refused: TLS 1.1');
});

t.test('the policy object: fresh per call, 1.2 suites are all ECDHE + AEAD', async (t) => {
  const a = tlsPolicy();
  a.ciphers = 'NULL';
  t.not(tlsPolicy().ciphers, 'NULL', 'mutating one copy changes nobody else\'s');
  for (const c of TLS12_CIPHERS) t.match(c, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  t.same([tlsPolicy().minVersion, tlsPolicy().maxVersion], ['TLSv1.2', 'TLSv1.3']);
});
