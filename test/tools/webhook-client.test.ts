/**
 * callWebhook against a real HTTPS receiver on 127.0.0.1 (test/tools/webhook-receiver.ts) with a
 * certificate from a throwaway CA. The receiver checks every request with verifyWebhookSignature,
 * as a tenant's Node receiver would. Stalls are real (the server never answers); the tests wait
 * for the promise, never for a fixed time.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import net from 'node:net';
import { inspect } from 'node:util';
import { TestCa } from '../helpers/certs.js';
import { callWebhook, isPublicAddress, responseToOutput, type WebhookRequest } from '../../src/tools/webhook-client.js';
import { isWebhookError } from '../../src/tools/webhook-error.js';
import { hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { toModelOutput, WebhookError, type WebhookErrorKind } from '../../src/tools/webhook-error.js';
import { SIGNATURE_HEADER, verifyWebhookSignature, WebhookSignatureError } from '../../src/tools/webhook-signature.js';
import { echoAnswer, WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'whsec-PLANTED-4f2a9c1e7b3d8a6f0c5e';
/** Planted in what the caller "said" (request) and in what receivers answer on failure. */
const CALLER_WORDS = 'CALLER-SAID-my-card-4111111111111111';
const RECEIVER_WORDS = 'RECEIVER-SAID-internal-stack-trace';

const ca = new TestCa();
t.teardown(() => ca.close());
const cert = ca.issueServer('webhook-receiver');

const receiver = await WebhookReceiver.start(SECRET, cert);
t.teardown(() => receiver.close());
t.afterEach(() => {
  receiver.answer = echoAnswer;
});

/** Every failure any test provoked, checked for leaks at the end. */
const failures: unknown[] = [];
/** Every signature header the receiver saw, to prove none leaks either. */
const signatures = (): string[] => receiver.requests.map((r) => String(r.headers[SIGNATURE_HEADER.toLowerCase()]));

function request(over: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url: receiver.url(),
    secret: new TextEncoder().encode(SECRET),
    accountId: 'acc_test',
    callId: 'call_123',
    toolName: 'book_table',
    toolCallId: 'fc_456',
    arguments: JSON.stringify({ party: 2, note: CALLER_WORDS }),
    timeoutMs: 5000,
    maxResponseBytes: 64 * 1024,
    ca: ca.caPem,
    // The receiver is on 127.0.0.1; the refusal of non-public addresses has its own test below.
    allowPrivateNetworks: true,
    ...over,
  };
}

/** Runs callWebhook expecting a WebhookError of `kind`; records it for the leak check. */
async function failsWith(t: Test, kind: WebhookErrorKind, over: Partial<WebhookRequest> = {}): Promise<WebhookError> {
  const err = await callWebhook(request(over)).then(
    (ok) => new Error(`resolved: ${JSON.stringify(ok)}`),
    (e: unknown) => e,
  );
  failures.push(err);
  t.ok(err instanceof WebhookError, `a WebhookError (${String(err)})`);
  t.equal((err as WebhookError).kind, kind, `kind ${kind}`);
  return err as WebhookError;
}

t.test('a signed POST arrives, verifies, and the JSON answer is the output as is', async (t) => {
  const before = receiver.requests.length;
  const sentAt = Date.now();
  const result = await callWebhook(request());
  const got = receiver.requests[before]!;
  t.type(got.verified, 'number', 'the receiver verified the signature');
  t.equal(got.path, '/hook');
  t.match(got.headers['content-type'], /^application\/json/);
  t.equal(got.headers['accept-encoding'], 'identity');
  t.equal(got.headers.connection, 'close', 'one connection per call, not pooled');
  t.match(String(got.headers[SIGNATURE_HEADER.toLowerCase()]), /^t=\d+,v1=[0-9a-f]{64}$/);

  const body = JSON.parse(got.rawBody.toString('utf8'));
  t.same(Object.keys(body).sort(), ['arguments', 'call_id', 'kalem_call_id', 'sent_at', 'tool']);
  t.equal(body.tool, 'book_table');
  t.equal(body.call_id, 'fc_456');
  t.equal(body.kalem_call_id, 'call_123');
  t.same(body.arguments, { party: 2, note: CALLER_WORDS }, 'the arguments are an object, not the model\'s JSON text');
  t.ok(Math.abs(Date.parse(body.sent_at) - sentAt) < 5000, 'sent_at is now');
  t.equal(got.verified, Math.floor(Date.parse(body.sent_at) / 1000), 'the signed t is sent_at in seconds');

  t.equal(result.status, 200);
  t.equal(result.output, JSON.stringify({ verified: true, received: body }), 'the echo, byte for byte');
  t.ok(result.durationMs >= 0 && result.durationMs < 5000);

  // The receiver's side of tampering, on the request that really arrived.
  const header = String(got.headers[SIGNATURE_HEADER.toLowerCase()]);
  const tampered = Buffer.from(got.rawBody.toString('utf8').replace('"party":2', '"party":20'));
  t.throws(() => verifyWebhookSignature(SECRET, header, tampered), WebhookSignatureError, 'a tampered body fails');
  const replay = (() => {
    try {
      return verifyWebhookSignature(SECRET, header, got.rawBody, { nowS: (got.verified as number) + 301 });
    } catch (e) {
      return e;
    }
  })();
  t.equal((replay as WebhookSignatureError).reason, 'timestamp', 'replayed 301 s later fails');
});

t.test('arguments: an object is taken as is, empty text is {}, anything else is refused', async (t) => {
  let before = receiver.requests.length;
  await callWebhook(request({ arguments: { date: '2026-05-01' } }));
  t.same(JSON.parse(receiver.requests[before]!.rawBody.toString()).arguments, { date: '2026-05-01' });
  before = receiver.requests.length;
  await callWebhook(request({ arguments: '' }));
  t.same(JSON.parse(receiver.requests[before]!.rawBody.toString()).arguments, {});

  before = receiver.requests.length;
  for (const bad of ['{"party": 2', '[1,2]', 'null', '"text"', 42, null]) {
    const err = await failsWith(t, 'invalid_arguments', { arguments: bad });
    t.match(err.message, /book_table/);
  }
  t.equal(receiver.requests.length, before, 'nothing was sent');
});

t.test('a request signed too long ago is refused by the receiver: http_status 401', async (t) => {
  const err = await failsWith(t, 'http_status', { now: () => Date.now() - 10 * 60_000 });
  t.equal(err.status, 401);
  const last = receiver.requests.at(-1)!;
  t.ok(last.verified instanceof WebhookSignatureError && last.verified.reason === 'timestamp', 'the receiver saw a stale timestamp');
});

t.test('a wrong secret fails verification at the receiver', async (t) => {
  const err = await failsWith(t, 'http_status', { secret: new TextEncoder().encode('whsec-someone-else') });
  t.equal(err.status, 401);
  const last = receiver.requests.at(-1)!;
  t.ok(last.verified instanceof WebhookSignatureError && last.verified.reason === 'mismatch');
});

t.test('output: text is wrapped, an empty body is ok, JSON is kept byte for byte', async (t) => {
  receiver.answer = (got) => got.res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Table for 2 at 19:00 "by the window"');
  t.equal((await callWebhook(request())).output, JSON.stringify({ result: 'Table for 2 at 19:00 "by the window"' }));
  receiver.answer = (got) => got.res.writeHead(204).end();
  const empty = await callWebhook(request());
  t.equal(empty.output, '{"ok":true}');
  t.equal(empty.status, 204);
  const pretty = '{\n  "slots": [ "19:00", "20:30" ],\n  "note": "café"\n}\n';
  receiver.answer = (got) => got.res.writeHead(201, { 'Content-Type': 'application/json' }).end(pretty);
  t.equal((await callWebhook(request())).output, pretty);
  // A JSON body is JSON whatever its Content-Type says; plain text is text whatever it says.
  t.equal(responseToOutput(Buffer.from('42')), '42');
  t.equal(responseToOutput(Buffer.from('  \n')), '{"ok":true}');
  t.equal(responseToOutput(Buffer.from('<html>oops</html>')), '{"result":"<html>oops</html>"}');
});

t.test('a receiver that never answers: timeout, and the connection is cut', async (t) => {
  receiver.answer = () => {}; // holds the response open forever
  const before = receiver.requests.length;
  // Long enough for a loopback TLS handshake on a loaded machine, so the request does arrive.
  const err = await failsWith(t, 'timeout', { timeoutMs: 1000 });
  t.match(err.message, /book_table at 127\.0\.0\.1:\d+: no complete answer within 1000 ms/);
  const got = receiver.requests[before];
  t.ok(got, 'the request arrived: the wait was for the answer');
  if (got && !got.res.closed) await once(got.res, 'close');
  t.equal(got?.res.closed, true, 'the receiver saw the connection close');
});

t.test('a peer that accepts TCP but never speaks TLS: the timeout covers the handshake', async (t) => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => void sockets.add(s));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as net.AddressInfo).port;
  const err = await failsWith(t, 'timeout', { url: `https://127.0.0.1:${port}/hook`, timeoutMs: 300 });
  t.equal(err.host, `127.0.0.1:${port}`);
});

t.test('a body over the limit fails as too_large, declared or streamed', async (t) => {
  receiver.answer = (got) => got.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2000 }).end('x'.repeat(2000));
  let err = await failsWith(t, 'too_large', { maxResponseBytes: 1000 });
  t.match(err.message, /declares 2000 bytes, over the 1000 byte limit/);

  // Chunked, no Content-Length: the limit is counted as the bytes arrive.
  receiver.answer = (got) => {
    got.res.writeHead(200, { 'Content-Type': 'text/plain' });
    got.res.write('y'.repeat(600));
    got.res.write('y'.repeat(600));
    // Never ended: the client must stop on its own count, not at the end of the body.
  };
  err = await failsWith(t, 'too_large', { maxResponseBytes: 1000 });
  t.match(err.message, /over the 1000 byte limit/);
  t.equal(err.status, 200);

  receiver.answer = (got) => got.res.writeHead(200, { 'Content-Type': 'text/plain' }).end('z'.repeat(1000));
  t.equal((await callWebhook(request({ maxResponseBytes: 1000 }))).output, JSON.stringify({ result: 'z'.repeat(1000) }), 'exactly the limit is fine');
});

t.test('a 500 fails as http_status without carrying the body', async (t) => {
  receiver.answer = (got) => got.res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: RECEIVER_WORDS }));
  const err = await failsWith(t, 'http_status');
  t.equal(err.status, 500);
  t.match(err.message, /book_table at 127\.0\.0\.1:\d+: answered HTTP 500/);
  t.equal(toModelOutput(err), '{"error":"the service reported an error"}');
});

t.test('a 302 is a failure and is not followed', async (t) => {
  const before = receiver.requests.length;
  receiver.answer = (got) => {
    if (got.path === '/hook') got.res.writeHead(302, { Location: receiver.url('/elsewhere') }).end();
    else echoAnswer(got);
  };
  const err = await failsWith(t, 'redirect');
  t.equal(err.status, 302);
  t.same(receiver.requests.slice(before).map((r) => r.path), ['/hook'], 'only the named URL was asked');
});

t.test('http:// is refused unless allowed, and then only to loopback', async (t) => {
  const plain = await WebhookReceiver.start(SECRET);
  t.teardown(() => plain.close());
  let err = await failsWith(t, 'invalid_url', { url: plain.url() });
  t.match(err.message, /plain http:\/\/ is refused; webhook URLs must use https:\/\//);
  err = await failsWith(t, 'invalid_url', { url: 'http://203.0.113.9/hook', allowInsecureHttpLoopback: true });
  t.equal(err.host, '203.0.113.9');
  t.equal(plain.requests.length, 0, 'nothing reached the plain server');

  const ok = await callWebhook(request({ url: plain.url(), allowInsecureHttpLoopback: true }));
  t.equal(ok.status, 200);
  t.type(plain.requests[0]?.verified, 'number', 'signed the same way over http');
  const viaName = await callWebhook(request({ url: plain.url('/hook', 'localhost'), allowInsecureHttpLoopback: true }));
  t.equal(viaName.status, 200, 'localhost counts as loopback');
});

t.test('other bad URLs fail before any network use', async (t) => {
  for (const url of ['not a url', 'ftp://127.0.0.1/hook', 'file:///etc/passwd', `https://user:${SECRET}@127.0.0.1:${receiver.port}/hook`]) {
    await failsWith(t, 'invalid_url', { url });
  }
});

t.test('a certificate from an unknown CA fails as network, with the TLS error code', async (t) => {
  const err = await failsWith(t, 'network', { ca: undefined });
  t.ok(err.netCode && /CERT|SIGNATURE|ISSUER/.test(err.netCode), `netCode ${err.netCode}`);
});

t.test('a closed port fails as network ECONNREFUSED', async (t) => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const err = await failsWith(t, 'network', { url: `https://127.0.0.1:${port}/hook` });
  t.equal(err.netCode, 'ECONNREFUSED');
});

t.test('the abort signal cancels a request in flight, and one aborted before is never sent', async (t) => {
  receiver.answer = () => {};
  const controller = new AbortController();
  const arrived = receiver.nextRequest();
  const pending = failsWith(t, 'aborted', { signal: controller.signal, timeoutMs: 60_000 });
  const got = await arrived;
  controller.abort();
  await pending;
  if (!got.res.closed) await once(got.res, 'close');
  t.equal(got.res.closed, true, 'the receiver saw the connection close');

  const before = receiver.requests.length;
  await failsWith(t, 'aborted', { signal: AbortSignal.abort() });
  t.equal(receiver.requests.length, before, 'nothing was sent');
});

t.test('caller mistakes are TypeErrors, not WebhookErrors', async (t) => {
  await t.rejects(callWebhook(request({ secret: new Uint8Array(0) })), TypeError);
  await t.rejects(callWebhook(request({ timeoutMs: 0 })), TypeError);
  await t.rejects(callWebhook(request({ maxResponseBytes: 1.5 })), TypeError);
  await t.rejects(callWebhook(request({ toolName: '' })), TypeError);
});

t.test('toModelOutput is generic JSON', async (t) => {
  t.equal(toModelOutput(new WebhookError('timeout', 'x', { tool: 'book_table' })), '{"error":"the service did not answer in time"}');
  t.equal(toModelOutput(new Error(SECRET)), '{"error":"the tool failed"}', 'a bug says nothing of itself');
});

// Last: every failure above, in every form a log line could take.
t.test('no secret, signature, caller data or response body in any error', async (t) => {
  t.ok(failures.length >= 20, `${failures.length} failures collected`);
  const sigs = signatures().filter((s) => s !== 'undefined');
  t.ok(sigs.length > 10, 'signatures were recorded');
  const macs = sigs.map((s) => s.split('v1=')[1]!);
  for (const err of failures) {
    t.ok(err instanceof WebhookError);
    const forms = [String(err), (err as Error).message, JSON.stringify(err), inspect(err, { depth: 10, showHidden: true }), toModelOutput(err)];
    const text = forms.join('\n');
    t.notOk(text.includes(SECRET), `no secret in ${(err as WebhookError).kind}`);
    t.notOk(text.includes(CALLER_WORDS), 'no request body');
    t.notOk(text.includes(RECEIVER_WORDS), 'no response body');
    t.notOk(macs.some((m) => text.includes(m)), 'no signature');
    t.notOk(text.includes('/hook'), 'no URL path');
    t.same(Object.keys(JSON.parse(toModelOutput(err))), ['error']);
  }
});

t.test('non-public addresses are refused unless allowed (loopback, RFC 1918, link-local metadata, names resolving inward)', async (t) => {
  for (const url of ['https://127.0.0.1:9/hook', 'https://10.1.2.3/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::1]:9/hook', 'https://[::ffff:192.168.1.1]/x', 'https://localhost:9/hook']) {
    const err = await callWebhook({ ...request({ url }), allowPrivateNetworks: false }).catch((e: unknown) => e);
    t.ok(isWebhookError(err, 'blocked_address'), `${url} refused (${(err as Error).message})`);
    failures.push(err);
  }
  // A name (this machine's) that resolves inward: the check runs after DNS, so a public-looking
  // name rebound to an inside address is refused as well.
  const inward = hostname();
  t.equal(isPublicAddress((await lookup(inward)).address), false, `precondition: ${inward} resolves to a non-public address`);
  const named = await callWebhook({ ...request({ url: receiver.url('/named', inward) }), allowPrivateNetworks: false }).catch((e: unknown) => e);
  t.ok(isWebhookError(named, 'blocked_address'), `${inward} is refused after resolution (${(named as Error).message})`);
  failures.push(named);
  t.equal(receiver.requests.filter((r) => r.path === '/named').length, 0, 'nothing reached the receiver');
  t.equal(isPublicAddress('8.8.8.8'), true);
  t.equal(isPublicAddress('2606:4700::1111'), true);
  t.equal(isPublicAddress('100.64.0.1'), false, 'CGNAT');
  t.equal(isPublicAddress('fd00::1'), false, 'ULA');
});
