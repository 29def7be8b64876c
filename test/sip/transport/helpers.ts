/** Shared bits of the transport tests: throwaway certificates, SIP text, event waiting. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';

export interface Credentials {
  cert: Buffer;
  key: Buffer;
}

/**
 * A self-signed P-256 certificate made with openssl at test time (valid one day), with
 * SANs for localhost and 127.0.0.1 so clients can verify it against the loopback address.
 */
export function makeCert(cn: string): Credentials {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function options(n: number, transport = 'TCP', viaHost = '127.0.0.1:5060'): Buffer {
  return Buffer.from(
    `OPTIONS sip:gw.example SIP/2.0\r\n` +
      `Via: SIP/2.0/${transport} ${viaHost};branch=z9hG4bKopt${n}\r\n` +
      `Max-Forwards: 70\r\n` +
      `From: <sip:probe@example.com>;tag=f${n}\r\n` +
      `To: <sip:gw.example>\r\n` +
      `Call-ID: opt-${n}@example.com\r\n` +
      `CSeq: ${n} OPTIONS\r\n` +
      `Content-Length: 0\r\n\r\n`,
  );
}

export function withBody(n: number): Buffer {
  const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
  return Buffer.from(
    `MESSAGE sip:gw.example SIP/2.0\r\n` +
      `Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKmsg${n}\r\n` +
      `Max-Forwards: 70\r\n` +
      `From: <sip:probe@example.com>;tag=m${n}\r\n` +
      `To: <sip:gw.example>\r\n` +
      `Call-ID: msg-${n}@example.com\r\n` +
      `CSeq: ${n} MESSAGE\r\n` +
      `Content-Type: application/sdp\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Resolves with the arguments of the next `event` from `emitter`. */
export function next<T extends unknown[]>(emitter: EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

/** Collects `count` events, resolving with all their arguments. */
export function collect<T extends unknown[]>(emitter: EventEmitter, event: string, count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const got: T[] = [];
    const on = (...args: unknown[]): void => {
      got.push(args as T);
      if (got.length === count) {
        emitter.off(event, on);
        resolve(got);
      }
    };
    emitter.on(event, on);
  });
}
