import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway certificate authority and server certificates for 127.0.0.1/localhost, made with
 * the `openssl` binary at test time in a temp dir, so no private key is ever committed.
 * EC P-256 keys: quick to generate, and accepted by Node, OpenSSL 3 and baresip alike.
 */

export interface ServerCert {
  certFile: string;
  keyFile: string;
  certPem: Buffer;
  /** SHA-256 fingerprint as Node reports it (`AA:BB:…`), for comparing what a peer presented. */
  fingerprint256: string;
  serialNumber: string;
  commonName: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export class TestCa {
  readonly dir: string;
  readonly caFile: string;
  readonly caKeyFile: string;
  readonly caPem: Buffer;
  private issued = 0;

  constructor(name = 'Kalem Test CA') {
    this.dir = mkdtempSync(join(tmpdir(), 'kalem-ca-'));
    this.caFile = join(this.dir, 'ca.pem');
    this.caKeyFile = join(this.dir, 'ca.key');
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', this.caKeyFile], this.dir);
    openssl(
      [
        'req', '-x509', '-new', '-key', this.caKeyFile, '-sha256', '-days', '2',
        '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-out', this.caFile,
      ],
      this.dir,
    );
    this.caPem = readFileSync(this.caFile);
  }

  /**
   * Issues a server certificate for 127.0.0.1 and localhost with the given CN, written to
   * `<outDir>/<file>.pem` and `.key` (overwriting: that is how a SIGHUP reload test swaps
   * certificates in place). Each call gets a fresh random serial.
   */
  issueServer(commonName: string, outDir = this.dir, file = 'server'): ServerCert {
    this.issued++;
    const keyFile = join(outDir, `${file}.key`);
    const certFile = join(outDir, `${file}.pem`);
    const csr = join(this.dir, `req-${this.issued}.csr`);
    const ext = join(this.dir, `ext-${this.issued}.cnf`);
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ].join('\n'),
    );
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], this.dir);
    openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${commonName}`, '-out', csr], this.dir);
    openssl(
      [
        'x509', '-req', '-in', csr, '-CA', this.caFile, '-CAkey', this.caKeyFile,
        '-set_serial', `0x${Date.now().toString(16)}${this.issued.toString(16).padStart(4, '0')}`,
        '-days', '2', '-sha256', '-extfile', ext, '-out', certFile,
      ],
      this.dir,
    );
    const certPem = readFileSync(certFile);
    const x = new X509Certificate(certPem);
    return { certFile, keyFile, certPem, fingerprint256: x.fingerprint256, serialNumber: x.serialNumber, commonName };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
