import { createHash } from 'node:crypto';
import t from 'tap';
import { FakeClock } from '../../../src/core/clock.js';
import { DigestAuthenticator, computeDigestResponse, type DigestAlgorithm } from '../../../src/sip/digest-auth.js';
import type { DigestResponse } from '../../../src/sip/sip-engine.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const TTL = 300_000;
const REALM = 'kalem.example';
const URI = 'sip:+15551234567@gw.kalem.example';
const PASSWORD = 'trunk-s3cret';

/** An independent client side, written out from RFC 7616 §3.4.1 (not the module's own code). */
function clientResponse(o: {
  hash: 'md5' | 'sha256';
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  nc?: string;
  cnonce?: string;
  qop?: boolean;
}): string {
  const H = (s: string): string => createHash(o.hash).update(s).digest('hex');
  const ha1 = H(`${o.username}:${o.realm}:${o.password}`);
  const ha2 = H(`${o.method}:${o.uri}`);
  if (o.qop === false) return H(`${ha1}:${o.nonce}:${ha2}`);
  return H(`${ha1}:${o.nonce}:${o.nc}:${o.cnonce}:auth:${ha2}`);
}

function nonceOf(header: string): string {
  const m = /nonce="([^"]+)"/.exec(header);
  if (m === null) throw new Error(`no nonce in ${header}`);
  return m[1]!;
}

interface Creds {
  nonce: string;
  nc?: string;
  algorithm?: 'MD5' | 'SHA-256';
  password?: string;
  uri?: string;
  realm?: string;
  qop?: boolean;
  method?: string;
}

function credentials(c: Creds): DigestResponse {
  const algorithm = c.algorithm ?? 'SHA-256';
  const qop = c.qop ?? true;
  const nc = c.nc ?? '00000001';
  const cnonce = '0a4f113b';
  const uri = c.uri ?? URI;
  const realm = c.realm ?? REALM;
  return {
    header: 'authorization',
    username: 'acme-trunk',
    realm,
    nonce: c.nonce,
    uri,
    response: clientResponse({
      hash: algorithm === 'MD5' ? 'md5' : 'sha256',
      username: 'acme-trunk',
      realm,
      password: c.password ?? PASSWORD,
      method: c.method ?? 'INVITE',
      uri,
      nonce: c.nonce,
      nc,
      cnonce,
      qop,
    }),
    algorithm,
    qop: qop ? 'auth' : null,
    nc: qop ? nc : null,
    cnonce: qop ? cnonce : null,
    opaque: null,
  };
}

function setup(maxTrackedNonces?: number): { clock: FakeClock; auth: DigestAuthenticator; verify: (c: DigestResponse, uri?: string) => string } {
  const clock = new FakeClock();
  const auth = new DigestAuthenticator({ clock, nonceTtlMs: TTL, ...(maxTrackedNonces === undefined ? {} : { maxTrackedNonces }) });
  const verify = (c: DigestResponse, uri = URI): string =>
    auth.verify({ method: 'INVITE', requestUri: uri, credentials: c, password: enc(PASSWORD), realm: REALM });
  return { clock, auth, verify };
}

t.test('RFC 2617 §3.5 example (MD5, qop=auth) computed by hand', async (t) => {
  // HA1 = MD5("Mufasa:testrealm@host.com:Circle Of Life"), HA2 = MD5("GET:/dir/index.html")
  t.equal(createHash('md5').update('Mufasa:testrealm@host.com:Circle Of Life').digest('hex'), '939e7578ed9e3c518a452acee763bce9');
  t.equal(createHash('md5').update('GET:/dir/index.html').digest('hex'), '39aff3a2bab6126f332b942af96d3366');
  const rfc = {
    algorithm: 'MD5' as DigestAlgorithm,
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    password: enc('Circle Of Life'),
    method: 'GET',
    uri: '/dir/index.html',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    qop: 'auth' as const,
    nc: '00000001',
    cnonce: '0a4f113b',
  };
  t.equal(computeDigestResponse(rfc), '6629fae49393a05397450978507c4ef1', 'the response in RFC 2617 §3.5');

  // Fed to the authenticator: the password is right, but the nonce is not one we issued, so the
  // client is told to retry with a fresh one (stale), never let in.
  const clock = new FakeClock();
  const auth = new DigestAuthenticator({ clock, nonceTtlMs: TTL });
  const creds: DigestResponse = {
    header: 'authorization',
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    nonce: rfc.nonce,
    uri: '/dir/index.html',
    response: '6629fae49393a05397450978507c4ef1',
    algorithm: null,
    qop: 'auth',
    nc: '00000001',
    cnonce: '0a4f113b',
    opaque: '5ccc069c403ebaf9f0171e9517f40e41',
  };
  const input = { method: 'GET', requestUri: '/dir/index.html', credentials: creds, realm: 'testrealm@host.com' };
  t.equal(auth.verify({ ...input, password: enc('Circle Of Life') }), 'stale');
  t.equal(auth.verify({ ...input, password: enc('Circle of Life') }), 'invalid', 'one letter off');
});

t.test('RFC 7616 §3.9.1 example: SHA-256 and MD5 responses', async (t) => {
  const base = {
    username: 'Mufasa',
    realm: 'http-auth@example.org',
    password: enc('Circle of Life'),
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    qop: 'auth' as const,
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };
  t.equal(computeDigestResponse({ ...base, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  t.equal(computeDigestResponse({ ...base, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
  // -sess: HA1 = H(H(user:realm:pass):nonce:cnonce)
  const H = (s: string): string => createHash('sha256').update(s).digest('hex');
  const ha1 = H(`${H('Mufasa:http-auth@example.org:Circle of Life')}:${base.nonce}:${base.cnonce}`);
  const expected = H(`${ha1}:${base.nonce}:00000001:${base.cnonce}:auth:${H('GET:/dir/index.html')}`);
  t.equal(computeDigestResponse({ ...base, algorithm: 'SHA-256-sess' }), expected);
});

t.test('challenge: SHA-256 then MD5, one fresh nonce, qop=auth, stale flag', async (t) => {
  const { auth } = setup();
  const [sha, md5, ...rest] = auth.challenge(REALM);
  t.same(rest, []);
  t.match(sha, /^Digest realm="kalem\.example", nonce="[A-Za-z0-9_-]{48}", qop="auth", algorithm=SHA-256$/);
  t.match(md5, /^Digest realm="kalem\.example", nonce="[A-Za-z0-9_-]{48}", qop="auth", algorithm=MD5$/);
  t.equal(nonceOf(sha!), nonceOf(md5!), 'both challenges carry the same nonce');
  t.not(nonceOf(auth.challenge(REALM)[0]!), nonceOf(sha!), 'every challenge has a new nonce');
  t.match(auth.challenge(REALM, true)[0], /, stale=TRUE, algorithm=SHA-256$/);
  t.notMatch(sha, /stale/);
  t.match(auth.challenge('a "quoted" \\ realm')[0], /^Digest realm="a \\"quoted\\" \\\\ realm"/);
  t.throws(() => auth.challenge('evil\r\nX-Injected: 1'), TypeError);
  t.throws(() => auth.challenge(''), TypeError);
});

t.test('a client answering the challenge is let in, with either algorithm', async (t) => {
  const { auth, verify } = setup();
  const headers = auth.challenge(REALM);
  t.equal(verify(credentials({ nonce: nonceOf(headers[0]!), algorithm: 'SHA-256' })), 'ok');
  t.equal(verify(credentials({ nonce: nonceOf(headers[1]!), algorithm: 'MD5', nc: '00000002' })), 'ok');
  const c = credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!) });
  t.equal(verify({ ...c, response: c.response.toUpperCase() }), 'ok', 'hex case does not matter');
  const lower = credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!), algorithm: 'MD5' });
  t.equal(verify({ ...lower, algorithm: 'md5' }), 'ok', 'algorithm names are case-insensitive');
  const noAlg = credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!), algorithm: 'MD5' });
  t.equal(verify({ ...noAlg, algorithm: null }), 'ok', 'no algorithm means MD5');
});

t.test('wrong password, wrong uri, wrong realm, bad values → invalid', async (t) => {
  const { auth, verify } = setup();
  const nonce = nonceOf(auth.challenge(REALM)[0]!);
  t.equal(verify(credentials({ nonce, password: 'trunk-s3cret!' })), 'invalid', 'wrong password');
  t.equal(verify(credentials({ nonce, uri: 'sip:+15559999999@gw.kalem.example' })), 'invalid', 'digest over another URI');
  t.equal(
    verify(credentials({ nonce }), 'sip:+15559999999@gw.kalem.example'),
    'invalid',
    'a captured digest replayed in a request to another number',
  );
  t.equal(verify(credentials({ nonce, realm: 'other.example' })), 'invalid', 'credentials for another realm');
  const good = credentials({ nonce });
  t.equal(verify({ ...good, algorithm: 'SHA-512-256' }), 'invalid', 'algorithm we did not offer');
  t.equal(verify({ ...good, qop: 'auth-int' }), 'invalid', 'qop we did not offer');
  t.equal(verify({ ...good, nc: '1' }), 'invalid', 'nc must be 8 hex digits');
  t.equal(verify({ ...good, nc: '00000000' }), 'invalid', 'nc 0 is never sent');
  t.equal(verify({ ...good, cnonce: null }), 'invalid', 'qop without cnonce');
  t.equal(verify({ ...good, response: good.response.slice(1) }), 'invalid', 'short response');
  t.equal(verify({ ...good, response: 'z'.repeat(64) }), 'invalid', 'non-hex response');
  t.equal(verify(good), 'ok', 'failures did not burn the nonce');
});

t.test('the password buffer is only read', async (t) => {
  const { auth } = setup();
  const password = enc(PASSWORD);
  const copy = Uint8Array.from(password);
  const c = credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!) });
  t.equal(auth.verify({ method: 'INVITE', requestUri: URI, credentials: c, password, realm: REALM }), 'ok');
  t.same(password, copy, 'not modified');
  password.fill(0); // the caller wipes it; a later request with the wiped buffer fails
  const c2 = credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!) });
  t.equal(auth.verify({ method: 'INVITE', requestUri: URI, credentials: c2, password, realm: REALM }), 'invalid');
  t.throws(() => auth.verify({ method: 'INVITE', requestUri: URI, credentials: c2, password: PASSWORD as unknown as Uint8Array, realm: REALM }), TypeError);
});

t.test('stale nonce: expires after nonce_ttl_ms, only reported stale when the password is right', async (t) => {
  const { clock, auth, verify } = setup();
  const nonce = nonceOf(auth.challenge(REALM)[0]!);
  clock.advance(TTL - 1);
  t.equal(verify(credentials({ nonce })), 'ok', 'still valid 1 ms before expiry');
  clock.advance(1);
  t.equal(verify(credentials({ nonce, nc: '00000002' })), 'stale');
  t.equal(verify(credentials({ nonce, nc: '00000003', password: 'guess' })), 'invalid', 'no stale hint for a wrong password');
  // The client retries on the fresh challenge it was given.
  t.equal(verify(credentials({ nonce: nonceOf(auth.challenge(REALM, true)[0]!) })), 'ok');
});

t.test('nonces we did not issue, or tampered with, are not accepted', async (t) => {
  const { auth, verify } = setup();
  const other = new DigestAuthenticator({ clock: new FakeClock(), nonceTtlMs: TTL });
  t.equal(verify(credentials({ nonce: nonceOf(other.challenge(REALM)[0]!) })), 'stale', 'another process\'s nonce');
  const nonce = nonceOf(auth.challenge(REALM)[0]!);
  const flipped = (nonce[0] === 'A' ? 'B' : 'A') + nonce.slice(1);
  t.equal(verify(credentials({ nonce: flipped })), 'stale', 'issue time changed');
  t.equal(verify(credentials({ nonce: nonce + 'AA' })), 'stale', 'wrong length');
  t.equal(verify(credentials({ nonce: nonceOf(auth.challenge('another.realm')[0]!) })), 'stale', 'a nonce issued for another realm');
});

t.test('replay: a reused or non-increasing nc is refused', async (t) => {
  const { verify, auth } = setup();
  const nonce = nonceOf(auth.challenge(REALM)[0]!);
  t.equal(verify(credentials({ nonce, nc: '00000001' })), 'ok');
  t.equal(verify(credentials({ nonce, nc: '00000001' })), 'replay', 'the same request again');
  t.equal(verify(credentials({ nonce, nc: '00000002' })), 'ok');
  t.equal(verify(credentials({ nonce, nc: '00000005' })), 'ok', 'gaps are fine');
  t.equal(verify(credentials({ nonce, nc: '00000003' })), 'replay', 'going backwards');
  t.equal(verify(credentials({ nonce, nc: '0000000A' })), 'ok', 'hex nc, upper case');
  t.equal(verify(credentials({ nonce, nc: '0000000a' })), 'replay', 'the same nc in lower case');
  t.equal(auth.trackedNonces, 1);
});

t.test('a failed attempt does not advance nc (an attacker cannot burn a client\'s counter)', async (t) => {
  const { verify, auth } = setup();
  const nonce = nonceOf(auth.challenge(REALM)[0]!);
  t.equal(verify(credentials({ nonce, nc: 'ffffffff', password: 'wrong' })), 'invalid');
  t.equal(verify(credentials({ nonce, nc: '00000001' })), 'ok');
});

t.test('without qop (RFC 2069 clients) a nonce works once', async (t) => {
  const { verify, auth } = setup();
  const nonce = nonceOf(auth.challenge(REALM)[1]!);
  t.equal(verify(credentials({ nonce, algorithm: 'MD5', qop: false })), 'ok');
  t.equal(verify(credentials({ nonce, algorithm: 'MD5', qop: false })), 'replay');
});

t.test('replay memory: records expire with their nonce', async (t) => {
  const { clock, verify, auth } = setup();
  for (let i = 0; i < 10; i++) t.equal(verify(credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!) })), 'ok');
  t.equal(auth.trackedNonces, 10);
  clock.advance(TTL);
  verify(credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!) }));
  t.equal(auth.trackedNonces, 1, 'expired records dropped, only the new one left');
});

t.test('replay memory: the cap holds, and an evicted live nonce cannot be replayed', async (t) => {
  const { clock, verify, auth } = setup(3);
  const nonces: string[] = [];
  for (let i = 0; i < 5; i++) {
    nonces.push(nonceOf(auth.challenge(REALM)[0]!));
    clock.advance(10);
  }
  for (const nonce of nonces) t.equal(verify(credentials({ nonce })), 'ok');
  t.equal(auth.trackedNonces, 3, 'never more than the cap');
  // nonces[0] and [1] were forgotten while still live: their nc=1 request again must not pass.
  t.equal(verify(credentials({ nonce: nonces[0]! })), 'stale');
  t.equal(verify(credentials({ nonce: nonces[1]!, nc: '00000002' })), 'stale');
  t.equal(verify(credentials({ nonce: nonces[4]! })), 'replay', 'a tracked one is still checked');
  t.equal(verify(credentials({ nonce: nonceOf(auth.challenge(REALM)[0]!) })), 'ok', 'fresh nonces still work');
  t.ok(auth.trackedNonces <= 3);
});

t.test('bad options are TypeErrors', async (t) => {
  const clock = new FakeClock();
  t.throws(() => new DigestAuthenticator({ clock, nonceTtlMs: 0 }), TypeError);
  t.throws(() => new DigestAuthenticator({ clock, nonceTtlMs: 1000, maxTrackedNonces: 0 }), TypeError);
  t.throws(() => computeDigestResponse({
    algorithm: 'SHA-1' as DigestAlgorithm,
    username: 'u', realm: 'r', password: enc('p'), method: 'INVITE', uri: 'sip:x', nonce: 'n', qop: null, nc: null, cnonce: null,
  }), TypeError);
});
