/**
 * The drachtio engine's calls, end to end against the drachtio-server STAND-IN
 * (test/stand-ins/drachtio-server.ts; not the real server: that one cannot be installed here).
 * Each test drives drachtio-srf over drachtio's wire protocol and checks what reached the wire.
 */
import t from 'tap';
import { ANSWER_SDP, endedOf, nextCall, startHarness } from './harness.js';

t.test('an INVITE becomes a call with the right info (stand-in drachtio-server)', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite({
    requestUri: 'sip:+4930123456@gw.example.net;user=phone',
    from: '"Alice Example" <sip:+15551230000@carrier.example>;tag=abc',
    to: '<sip:+4930999999@gw.example.net>',
    source: { address: '203.0.113.7', port: 5071, protocol: 'tls' },
    headers: [
      ['User-Agent', 'CarrierSBC/4.2'],
      ['X-Carrier-Ref', 'first'],
      ['X-Carrier-Ref', 'second'],
      [
        'Authorization',
        'Digest username="trunk1", realm="kalem", nonce="n0nce", uri="sip:+4930123456@gw.example.net", ' +
          'response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="c1"',
      ],
    ],
  });
  const call = await callP;
  const i = call.info;
  t.equal(i.callId, callId);
  t.equal(i.requestUri, 'sip:+4930123456@gw.example.net;user=phone');
  t.equal(i.calledUser, '+4930123456', 'Request-URI user wins over To');
  t.equal(i.fromUri, 'sip:+15551230000@carrier.example');
  t.equal(i.fromUser, '+15551230000');
  t.equal(i.fromDisplayName, 'Alice Example');
  t.equal(i.toUri, 'sip:+4930999999@gw.example.net');
  t.equal(i.userAgent, 'CarrierSBC/4.2');
  t.same(i.source, { address: '203.0.113.7', port: 5071, transport: 'tls' }, 'source from drachtio metadata');
  t.equal(i.localAddress, '127.0.0.1', 'the listener drachtio-server says the INVITE arrived on');
  t.match(i.sdp, /^v=0\r\n/);
  t.match(i.sdp, /m=audio 40000 RTP\/AVP 0 8 101/);
  t.equal(i.header('x-carrier-ref'), 'first', 'first value of a repeated header');
  t.equal(i.header('X-Missing'), undefined);
  t.same(i.digest, {
    header: 'authorization',
    username: 'trunk1',
    realm: 'kalem',
    nonce: 'n0nce',
    uri: 'sip:+4930123456@gw.example.net',
    response: '0123456789abcdef0123456789abcdef',
    algorithm: 'MD5',
    qop: 'auth',
    nc: '00000001',
    cnonce: 'c1',
    opaque: null,
  });
  call.reject(404);
});

t.test('calledUser falls back to the To user when the Request-URI has none', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  h.standIn.sendInvite({ requestUri: 'sip:gw.example.net', to: '<sip:+4930111222@gw.example.net>', sdp: null });
  const call = await callP;
  t.equal(call.info.calledUser, '+4930111222');
  t.equal(call.info.sdp, null, 'late offer');
  t.equal(call.info.digest, null);
  call.reject(480);
});

t.test('reject(404) puts a 404 on the wire and ends the call once', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId, final } = h.standIn.sendInvite();
  const call = await callP;
  const ended = endedOf(call);
  call.reject(404);
  const res = await final;
  t.equal(res.status, 404);
  t.equal(res.origin, 'app');
  t.equal(res.callId, callId);
  t.match(res.header('To'), /;tag=/, 'the stack tagged the To');
  t.equal(await ended, 'rejected');
  t.throws(() => call.reject(486), TypeError, 'a second final answer is refused');
});

t.test('reject with reason and headers, several challenge lines', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { final } = h.standIn.sendInvite();
  const call = await callP;
  call.reject(401, {
    reason: 'Unauthorized',
    headers: {
      'WWW-Authenticate': ['Digest realm="kalem", nonce="a", algorithm=SHA-256', 'Digest realm="kalem", nonce="a", algorithm=MD5'],
      'Retry-After': '5',
    },
  });
  const res = await final;
  t.equal(res.startLine, 'SIP/2.0 401 Unauthorized');
  t.same(res.headerAll('WWW-Authenticate'), [
    'Digest realm="kalem", nonce="a", algorithm=SHA-256',
    'Digest realm="kalem", nonce="a", algorithm=MD5',
  ]);
  t.equal(res.header('Retry-After'), '5');
  t.throws(() => call.reject(200), TypeError, 'a 2xx is not a rejection');
});

t.test('a header value with a line break is refused (no header injection)', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  h.standIn.sendInvite();
  const call = await callP;
  t.throws(() => call.reject(403, { headers: { 'X-Evil': 'a\r\nContact: <sip:evil@example>' } }), TypeError);
  call.reject(403);
});

t.test('progress(180), answer(sdp) → 200 with that SDP, ACK → confirmed', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId, final } = h.standIn.sendInvite();
  const call = await callP;
  call.progress(180);
  const ringing = await h.standIn.waitFor((m) => m.callId === callId && m.status === 180, 2000, '180');
  t.equal(ringing.origin, 'app');
  const confirmed = new Promise<void>((resolve) => call.once('confirmed', resolve));
  await call.answer(ANSWER_SDP);
  const ok = await final;
  t.equal(ok.status, 200);
  t.equal(ok.body, ANSWER_SDP, 'our SDP, byte for byte');
  t.match(ok.header('Content-Type'), /^application\/sdp/);
  t.ok(ok.header('Contact'), '2xx carries a Contact');
  t.equal(ok.header('To'), ringing.header('To'), 'same To-tag as the 180');
  h.standIn.sendAck(callId);
  await confirmed;
  t.throws(() => call.progress(183), TypeError, 'no provisional after answer');
  t.rejects(() => Promise.resolve().then(() => call.answer(ANSWER_SDP)), TypeError);
  await call.hangup();
});

t.test('183 with early media SDP', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  call.progress(183, ANSWER_SDP);
  const r = await h.standIn.waitFor((m) => m.callId === callId && m.status === 183, 2000, '183');
  t.equal(r.body, ANSWER_SDP);
  t.match(r.header('Content-Type'), /^application\/sdp/);
  call.reject(486);
});

t.test('remote BYE ends the call with remote-bye (and is answered 200)', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  const ended = endedOf(call);
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  const byeRes = await h.standIn.sendBye(callId);
  t.equal(byeRes.status, 200);
  t.equal(byeRes.method, 'BYE');
  t.equal(await ended, 'remote-bye');
  await call.hangup();
  t.equal(h.standIn.recorded.filter((m) => m.origin === 'app' && m.method === 'BYE' && m.kind === 'request').length, 0,
    'hangup() after the far end hung up sends nothing');
  t.equal(h.engine.activeCalls(), 0);
});

t.test('local hangup sends BYE in the dialog', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId, final } = h.standIn.sendInvite({ from: '<sip:+15550001111@carrier.example>;tag=caller-tag' });
  const call = await callP;
  const ended = endedOf(call);
  await call.answer(ANSWER_SDP);
  const ok = await final;
  h.standIn.sendAck(callId);
  await call.hangup();
  const bye = await h.standIn.waitFor((m) => m.origin === 'app' && m.kind === 'request' && m.method === 'BYE', 2000, 'BYE');
  t.equal(bye.callId, callId);
  t.match(bye.startLine, /^BYE sip:caller@192\.0\.2\.10:5060 SIP\/2\.0$/, 'sent to the caller\'s Contact');
  t.match(bye.header('To'), /tag=caller-tag/, 'To carries the caller\'s tag');
  t.equal(/tag=([^;]+)/.exec(bye.header('From') ?? '')?.[1], /tag=([^;]+)/.exec(ok.header('To') ?? '')?.[1], 'From carries our tag');
  t.equal(await ended, 'local-bye');
  t.equal(h.engine.activeCalls(), 0);
});

t.test('CANCEL before answer → cancel, then ended(cancelled); the stack sent 487', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId, final } = h.standIn.sendInvite();
  const call = await callP;
  const order: string[] = [];
  call.on('cancel', () => order.push('cancel'));
  call.on('ended', (r) => order.push(`ended:${r}`));
  call.progress(180);
  await h.standIn.waitFor((m) => m.callId === callId && m.status === 180);
  const ended = endedOf(call);
  h.standIn.sendCancel(callId);
  t.equal(await ended, 'cancelled');
  t.same(order, ['cancel', 'ended:cancelled']);
  const r = await final;
  t.equal(r.status, 487);
  t.equal(r.origin, 'stack');
  t.throws(() => call.reject(486), TypeError, 'nothing left to answer');
  t.equal(h.engine.activeCalls(), 0);
});

t.test('re-INVITE with a hold offer gets the handler\'s SDP; null → 488; no handler → last SDP', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);

  // Without a handler the engine answers with the SDP it sent last.
  const plain = await h.standIn.sendReinvite(callId, 'v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n');
  t.equal(plain.status, 200);
  t.equal(plain.body, ANSWER_SDP);

  const offers: Array<string | null> = [];
  const held = ANSWER_SDP.replace('a=sendrecv', 'a=recvonly');
  call.setReinviteHandler((offer) => {
    offers.push(offer);
    return offer?.includes('a=sendonly') ? held : null;
  });
  const holdOffer = 'v=0\r\no=- 1 3 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n';
  const res = await h.standIn.sendReinvite(callId, holdOffer);
  t.equal(res.status, 200);
  t.equal(res.body, held, 'the handler\'s SDP');
  t.match(res.header('Content-Type'), /^application\/sdp/);
  t.equal(offers[0], holdOffer, 'the handler saw the offer');

  const refused = await h.standIn.sendReinvite(callId, holdOffer.replace('a=sendonly', 'a=inactive'));
  t.equal(refused.status, 488);
  await call.hangup();
});

t.test('INFO reaches the info event and is answered 200', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  const info = new Promise<[string | null, string]>((resolve) => call.once('info', (ct, body) => resolve([ct, body])));
  const res = await h.standIn.sendInfo(callId, 'application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n');
  t.equal(res.status, 200);
  t.same(await info, ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n']);
  await call.hangup();
});

t.test('REFER + NOTIFY sipfrag 200 resolves refer() with 200', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  const progress = await call.refer('sip:+4930555000@pbx.example');
  t.same(progress, { status: 200, reason: 'OK' });
  const refer = await h.standIn.waitFor((m) => m.origin === 'app' && m.kind === 'request' && m.method === 'REFER');
  t.equal(refer.header('Refer-To'), '<sip:+4930555000@pbx.example>');
  t.equal(refer.callId, callId);
  // refer() settles as the final NOTIFY is answered; the stand-in may record that answer a moment later.
  const isNotifyAnswer = (m: { origin: string; kind: string; method: string; header(n: string): string | undefined }): boolean =>
    m.origin === 'app' && m.kind === 'response' && m.method === 'NOTIFY';
  await h.standIn.waitFor(() => h.standIn.recorded.filter(isNotifyAnswer).length >= 2, 2000, 'answer to the 2nd NOTIFY');
  const notifyAnswers = h.standIn.recorded.filter(isNotifyAnswer);
  t.same(notifyAnswers.map((m) => m.status), [200, 200], 'both NOTIFYs answered 200');
  await call.hangup();
});

t.test('a refused REFER resolves refer() with its status', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  h.standIn.referPlan = { status: 603, notify: [] };
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  t.same(await call.refer('sip:elsewhere@pbx.example'), { status: 603, reason: 'Decline' });
  await call.hangup();
});

t.test('a transfer that fails in NOTIFY resolves with the sipfrag status', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  h.standIn.referPlan = { status: 202, notify: [100, 486] };
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  t.same(await call.refer('sip:busy@pbx.example'), { status: 486, reason: 'Busy Here' });
  await call.hangup();
});

t.test('drachtio-server hanging up for a missing ACK ends the call with no-ack', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  const ended = endedOf(call);
  await call.answer(ANSWER_SDP);
  h.standIn.sendServerBye(callId, 'ACK timeout');
  t.equal(await ended, 'no-ack');
});

t.test('an INVITE with nobody listening is answered 503', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const { final } = h.standIn.sendInvite();
  const r = await final;
  t.equal(r.status, 503);
  t.equal(h.engine.activeCalls(), 0);
});

t.test('stop() sends BYE on answered calls and 503 on ringing ones; ended(engine-stopped)', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  let callP = nextCall(h.engine);
  const a = h.standIn.sendInvite();
  const answered = await callP;
  await answered.answer(ANSWER_SDP);
  h.standIn.sendAck(a.callId);
  callP = nextCall(h.engine);
  const b = h.standIn.sendInvite();
  const ringing = await callP;
  const endA = endedOf(answered);
  const endB = endedOf(ringing);
  await h.engine.stop();
  t.equal(await endA, 'engine-stopped');
  t.equal(await endB, 'engine-stopped');
  const bye = h.standIn.recorded.find((m) => m.origin === 'app' && m.kind === 'request' && m.method === 'BYE');
  t.equal(bye?.callId, a.callId, 'BYE for the answered call');
  t.equal((await b.final).status, 503, '503 for the ringing one');
  await t.resolves(h.engine.stop(), 'stop() again resolves: idempotent');
});
