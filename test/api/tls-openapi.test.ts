import t from 'tap';
import { connect, type TLSSocket } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { ApiGateway } from './helpers.js';
import { ApiServer, type ApiServices } from '../../src/api/http-server.js';
import { Metrics } from '../../src/api/metrics.js';
import { validateConfig } from '../../src/config/load.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
const DOC_PATH = join(repoRoot, 'docs/openapi.json');

function handshake(port: number, ca: Buffer, opts: { minVersion?: 'TLSv1' | 'TLSv1.2'; maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ciphers?: string }) {
  return new Promise<{ ok: true; protocol: string | null; cipher: string; fingerprint: string } | { ok: false; error: string }>((done) => {
    const s: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...opts }, () => {
      done({ ok: true, protocol: s.getProtocol(), cipher: s.getCipher().name, fingerprint: s.getPeerCertificate().fingerprint256 });
      s.end();
    });
    s.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code ?? err.message }));
  });
}

t.test('HTTPS: TLS 1.3 preferred, TLS 1.2 only with ECDHE+AEAD, TLS 1.1 refused, certificate re-read on reload', async (t) => {
  const api = await new ApiGateway().start();
  t.teardown(() => api.stop());
  const ca = api.ca.caPem;

  const v13 = await handshake(api.port, ca, {});
  t.same(v13.ok && v13.protocol, 'TLSv1.3', 'a modern client gets TLS 1.3');
  const v12 = await handshake(api.port, ca, { maxVersion: 'TLSv1.2' });
  t.ok(v12.ok && v12.protocol === 'TLSv1.2' && /^ECDHE-ECDSA-(AES\d+-GCM|CHACHA20-POLY1305)/.test(v12.cipher), `TLS 1.2 with ECDHE + AEAD (${v12.ok && v12.cipher})`);
  // The client is allowed to offer TLS 1.0/1.1 (OpenSSL's security level lowered on its side), so
  // the refusal is the server's.
  const v11 = await handshake(api.port, ca, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  t.equal(v11.ok, false, `TLS 1.1 refused (${!v11.ok && v11.error})`);
  const cbc = await handshake(api.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' });
  t.equal(cbc.ok, false, `TLS 1.2 with only CBC suites refused (${!cbc.ok && cbc.error})`);

  const before = await handshake(api.port, ca, {});
  const renewed = api.ca.issueServer('localhost-renewed', api.ca.dir, 'server'); // same files, new certificate
  t.equal(renewed.certFile, api.cert.certFile);
  await api.gw.daemon.reload(); // what SIGHUP runs
  const afterReload = await handshake(api.port, ca, {});
  t.ok(before.ok && afterReload.ok && before.fingerprint !== afterReload.fingerprint, 'a new connection gets the renewed certificate');
  t.equal(afterReload.ok && afterReload.fingerprint, renewed.fingerprint256);

  // Plain HTTP is for loopback only: refused at config validation and by the server itself.
  t.throws(() => validateConfig({ api: { listen_address: '0.0.0.0' } }), /plain HTTP listens only on loopback/);
  t.doesNotThrow(() => validateConfig({ api: { listen_address: '0.0.0.0', port: -1 } }), 'no plain listener: no refusal');
  t.throws(() => validateConfig({ api: { tls_cert_file: '/x.pem' } }), /set together/);
  t.throws(() => new ApiServer({ host: '192.0.2.1', port: 0, metrics: new Metrics({ defaultMetrics: false }) }), /only on loopback/);
  t.throws(
    () => new ApiServer({ https: { host: '127.0.0.1', port: 0, certFile: '/nonexistent/cert.pem', keyFile: api.cert.keyFile }, metrics: new Metrics({ defaultMetrics: false }) }),
    { code: 'KALEM_ERR_CONFIG_INVALID', message: /api\.tls_cert_file \/nonexistent\/cert\.pem cannot be read \(ENOENT\)/ },
    'a certificate that cannot be read is named',
  );
});

/** Structural checks of an OpenAPI 3.0 document, and every schema in it compiles. */
function openapiProblems(doc: any): string[] {
  const problems: string[] = [];
  if (!/^3\.\d+\.\d+$/.test(doc.openapi ?? '')) problems.push('openapi is not 3.x.y');
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info.title/version');
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') refs.push(x);
        else walk(x);
      }
    }
  };
  walk(doc);
  for (const r of refs) {
    const m = /^#\/components\/schemas\/(.+)$/.exec(r);
    if (!m || !doc.components?.schemas?.[m[1]!]) problems.push(`unresolved $ref ${r}`);
  }
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths ?? {})) {
    if (!path.startsWith('/')) problems.push(`path ${path}`);
    const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) problems.push(`${path}: method ${method}`);
      const responses = Object.entries<any>(op.responses ?? {});
      if (responses.length === 0) problems.push(`${method} ${path}: no responses`);
      for (const [code, resp] of responses) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) problems.push(`${method} ${path}: response key ${code}`);
        if (typeof resp.description !== 'string') problems.push(`${method} ${path} ${code}: no description`);
      }
      for (const p of templated) {
        if (!(op.parameters ?? []).some((x: any) => x.in === 'path' && x.name === p && x.required === true)) problems.push(`${method} ${path}: path parameter ${p} undeclared`);
      }
    }
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  for (const name of Object.keys(doc.components?.schemas ?? {})) {
    try {
      ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });
    } catch (err) {
      problems.push(`schema ${name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

t.test('the OpenAPI document: served at /v1/openapi.json, equal to docs/openapi.json, OpenAPI 3 in shape, one operation per route', async (t) => {
  const api = await new ApiGateway().start();
  t.teardown(() => api.stop());
  const served = await api.call('GET', '/v1/openapi.json');
  t.equal(served.status, 200);
  if (process.env.KALEM_WRITE_OPENAPI === '1') writeFileSync(DOC_PATH, JSON.stringify(served.json, null, 2) + '\n');
  t.same(served.json, JSON.parse(readFileSync(DOC_PATH, 'utf8')), 'docs/openapi.json is what the daemon serves (regenerate: KALEM_WRITE_OPENAPI=1 npx tap dist/test/api/tls-openapi.test.js)');
  t.same(openapiProblems(served.json), [], 'structurally valid');
  // A broken document is caught (the checker is not a rubber stamp).
  t.ok(openapiProblems({ ...served.json, paths: { '/v1/x/{id}': { get: { responses: { 200: {} } } } } }).length >= 2);

  // Every route the server registered (except hidden ones) is in the document, and nothing else.
  const registered: string[] = [];
  const server = new ApiServer({ port: 0, metrics: new Metrics({ defaultMetrics: false }), services: {} as ApiServices });
  const doc = (await server.openapi()) as any;
  for (const r of server.routes()) registered.push(`${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  t.same(documented.sort(), registered.sort(), 'documented operations = registered routes');
  t.same(doc, served.json, 'the same document without a daemon');
});
