import { request } from 'node:https';
import { TestCa, type ServerCert } from '../helpers/certs.js';
import { TestGateway } from '../helpers/gateway.js';
import { buildTokenService } from '../../src/app/token-service-factory.js';
import type { CreateTokenInput } from '../../src/api/tokens/token-service.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * A real gateway daemon with the admin API on HTTPS (127.0.0.1, ephemeral port, a throwaway
 * certificate from test/helpers/certs.ts), and a client that trusts only that test CA.
 */
export class ApiGateway {
  readonly ca = new TestCa('Kalem API Test CA');
  readonly cert: ServerCert;
  readonly gw: TestGateway;

  /** `rest`: the other sections (default: SIP on loopback ports, no rtpengine). */
  constructor(extraApiToml = '', rest?: string) {
    this.cert = this.ca.issueServer('localhost');
    // TestGateway writes "[api]\nport = 0" right before extraToml: these keys land in [api].
    this.gw = new TestGateway(
      [
        'https_address = "127.0.0.1"',
        'https_port = 0',
        `tls_cert_file = ${JSON.stringify(this.cert.certFile)}`,
        `tls_key_file = ${JSON.stringify(this.cert.keyFile)}`,
        extraApiToml,
        rest ?? '[sip]\nlisten_address = "127.0.0.1"\nudp_port = 0\ntcp_port = 0\ntls_port = -1\n[rtpengine]\nmode = "off"',
      ].join('\n'),
    );
  }

  async start(): Promise<this> {
    await this.gw.start();
    return this;
  }

  get port(): number {
    return this.gw.daemon.apiHttpsAddress()!.port;
  }

  /** Creates a token as the CLI does (same service), returning the secret. */
  async token(input: CreateTokenInput): Promise<string> {
    let secret = '';
    await this.gw.provision((app) => {
      secret = buildTokenService(app, 'test').create(input).token;
    });
    return secret;
  }

  async provision(fn: Parameters<TestGateway['provision']>[0]): Promise<void> {
    await this.gw.provision(fn);
  }

  call(method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          servername: 'localhost',
          ca: this.ca.caPem,
          method,
          path,
          agent: false,
          headers: {
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** GET with the body as bytes (a recording). */
  callBytes(path: string, token: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca.caPem, method: 'GET', path, agent: false, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  async stop(): Promise<void> {
    await this.gw.stop();
    this.ca.close();
  }
}
