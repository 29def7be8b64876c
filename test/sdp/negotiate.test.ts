import t from 'tap';
import {
  DEFAULT_CODECS,
  LocalSdpSession,
  isHold,
  negotiate,
  parseSdp,
  type NegotiationResult,
  type NegotiationSuccess,
} from '../../src/sdp/index.js';
import * as offers from './offers.js';

const local = { address: '192.0.2.10', port: 40000 };
const newSession = (): LocalSdpSession => new LocalSdpSession({ sessionId: '1234567890', username: 'kalem' });

/** Narrows to a success; a 488 fails the test with its reason. */
function ok(t: { fail(message: string): unknown }, r: NegotiationResult): NegotiationSuccess {
  if (!r.ok) {
    t.fail(`expected an answer, got 488 ${r.reason}`);
    throw new Error(r.reason);
  }
  return r;
}

t.test('Twilio-like offer: PCMU (the offer\'s first), DTMF 101 with its fmtp, exact answer', async (t) => {
  const r = ok(t, negotiate(offers.TWILIO_LIKE, { local, session: newSession() }));
  t.same(r.codec, { name: 'PCMU', payloadType: 0, clockRate: 8000, channels: 1 });
  t.equal(r.dtmfPayloadType, 101);
  t.equal(r.dtmfClockRate, 8000);
  t.same(r.remote, { address: '54.172.60.1', port: 15338 });
  t.equal(r.direction, 'sendrecv');
  t.equal(r.mediaIndex, 0);
  t.equal(
    r.answer,
    [
      'v=0',
      'o=kalem 1234567890 1 IN IP4 192.0.2.10',
      's=kalem',
      'c=IN IP4 192.0.2.10',
      't=0 0',
      'm=audio 40000 RTP/AVP 0 101',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n'),
  );
});

t.test('Telnyx-like offer: the offerer\'s order wins (PCMA before PCMU), DTMF fmtp 0-15 kept', async (t) => {
  const r = ok(t, negotiate(offers.TELNYX_LIKE, { local, session: newSession() }));
  t.equal(r.codec.name, 'PCMA');
  t.equal(r.codec.payloadType, 8);
  t.equal(r.dtmfPayloadType, 101);
  t.match(r.answer, /m=audio 40000 RTP\/AVP 8 101\r\na=rtpmap:8 PCMA\/8000\r\na=rtpmap:101 telephone-event\/8000\r\na=fmtp:101 0-15\r\n/);
  t.notMatch(r.answer, /CN\/8000/, 'comfort noise is not answered');
});

t.test('our codec list limits what is accepted, the offer still orders it', async (t) => {
  const onlyPcmu = DEFAULT_CODECS.filter((c) => c.name === 'PCMU' || c.name === 'telephone-event');
  const r = ok(t, negotiate(offers.TELNYX_LIKE, { local, session: newSession(), codecs: onlyPcmu }));
  t.equal(r.codec.name, 'PCMU');
  const noDtmf = DEFAULT_CODECS.filter((c) => c.name !== 'telephone-event');
  const r2 = ok(t, negotiate(offers.TWILIO_LIKE, { local, session: newSession(), codecs: noDtmf }));
  t.equal(r2.dtmfPayloadType, null);
  t.notMatch(r2.answer, /telephone-event/);
});

t.test('G.722 by static payload type without rtpmap', async (t) => {
  const offer = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 9 0', ''].join('\r\n');
  const r = ok(t, negotiate(offer, { local, session: newSession() }));
  t.same(r.codec, { name: 'G722', payloadType: 9, clockRate: 8000, channels: 1 });
  t.equal(r.dtmfPayloadType, null);
  t.match(r.answer, /a=rtpmap:9 G722\/8000\r\n/, 'the answer spells out even a static mapping');
});

t.test('encoding names are case-insensitive; the result uses our spelling', async (t) => {
  const offer = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 96 0', 'a=rtpmap:96 OPUS/48000', 'a=rtpmap:0 pcmu/8000', ''].join('\r\n');
  const r = ok(t, negotiate(offer, { local, session: newSession() }));
  t.same(r.codec, { name: 'opus', payloadType: 96, clockRate: 48000, channels: 2 }, 'opus without /2 still means Opus');
  t.match(r.answer, /a=rtpmap:96 opus\/48000\/2\r\n/);
  const noOpus = DEFAULT_CODECS.filter((c) => c.name !== 'opus');
  const r2 = ok(t, negotiate(offer, { local, session: newSession(), codecs: noOpus }));
  t.same(r2.codec, { name: 'PCMU', payloadType: 0, clockRate: 8000, channels: 1 });
  t.match(r2.answer, /a=rtpmap:0 PCMU\/8000\r\n/);
});

t.test('G.729-only offer → 488 naming what was offered', async (t) => {
  const r = negotiate(offers.G729_ONLY, { local, session: newSession() });
  t.equal(r.ok, false);
  if (r.ok) return;
  t.equal(r.status, 488);
  t.match(r.reason, /no common codec: offered G729\/8000; supported PCMU, PCMA, G722, opus/);
});

t.test('SRTP-only offer → 488 (SRTP is rtpengine\'s job, not this endpoint\'s)', async (t) => {
  const r = negotiate(offers.SRTP_SDES, { local, session: newSession() });
  t.same(r, { ok: false, status: 488, reason: 'audio offered only over RTP/SAVP; this endpoint takes RTP/AVP or RTP/AVPF' });
});

t.test('WebRTC offer as a browser sends it → 488; as rtpengine hands it over → opus', async (t) => {
  const direct = negotiate(offers.WEBRTC_OPUS, { local, session: newSession() });
  t.equal(direct.ok, false);
  const r = ok(t, negotiate(offers.OPUS_AFTER_RTPENGINE, { local, session: newSession() }));
  t.same(r.codec, { name: 'opus', payloadType: 111, clockRate: 48000, channels: 2 });
  t.equal(r.dtmfPayloadType, 110, 'telephone-event at the codec\'s own clock rate is preferred');
  t.equal(r.dtmfClockRate, 48000);
  t.match(r.answer, /m=audio 40000 RTP\/AVP 111 110\r\na=rtpmap:111 opus\/48000\/2\r\na=rtpmap:110 telephone-event\/48000\r\na=fmtp:110 0-15\r\na=ptime:20\r\n/);
  t.same(r.remote, { address: '127.0.0.1', port: 30010 });
});

t.test('no audio stream → 488', async (t) => {
  const video = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=video 5000 RTP/AVP 96', 'a=rtpmap:96 H264/90000', ''].join('\r\n');
  t.same(negotiate(video, { local, session: newSession() }), { ok: false, status: 488, reason: 'no audio stream in the offer' });
  const rejectedAudio = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 0 RTP/AVP 0', ''].join('\r\n');
  t.match(negotiate(rejectedAudio, { local, session: newSession() }), { ok: false, status: 488 });
  const weird = offers.TWILIO_LIKE.replace('RTP/AVP', 'RTP/\tEVIL'.padEnd(400, 'X'));
  const r0 = negotiate(weird, { local, session: newSession() });
  t.match(r0, { ok: false, status: 488 });
  if (!r0.ok) t.ok(r0.reason.length <= 200 && !/[\x00-\x1f]/.test(r0.reason), 'reason is short and printable');
  const r = negotiate('v=0\r\nx=1\r\n', { local, session: newSession() });
  t.match(r, { ok: false, status: 488, reason: /^malformed SDP: SDP line 2/ });
});

t.test('audio + video: same number of m-lines, the video one rejected with port 0', async (t) => {
  const r = ok(t, negotiate(offers.AUDIO_VIDEO, { local, session: newSession() }));
  t.equal(r.codec.name, 'G722');
  const answer = parseSdp(r.answer);
  t.equal(answer.media.length, 2);
  t.match(answer.media[0], { type: 'audio', port: 40000, formats: ['9', '101'] });
  t.match(answer.media[1], { type: 'video', port: 0, proto: 'RTP/AVP', formats: ['96'] });
  t.match(r.answer, /m=video 0 RTP\/AVP 96\r\n$/);

  // Video first: the audio stream is the second in both offer and answer.
  const swapped = parseSdp(offers.AUDIO_VIDEO);
  swapped.media.reverse();
  const r2 = ok(t, negotiate(swapped, { local, session: newSession() }));
  t.equal(r2.mediaIndex, 1);
  t.same(
    parseSdp(r2.answer).media.map((m) => [m.type, m.port]),
    [
      ['video', 0],
      ['audio', 40000],
    ],
  );
});

t.test('answer direction follows the offer (RFC 3264 §6.1)', async (t) => {
  const cases: Array<[string, string]> = [
    ['sendrecv', 'sendrecv'],
    ['sendonly', 'recvonly'],
    ['recvonly', 'sendonly'],
    ['inactive', 'inactive'],
  ];
  for (const [offered, answered] of cases) {
    const offer = offers.TWILIO_LIKE.replace('a=sendrecv', `a=${offered}`);
    const r = ok(t, negotiate(offer, { local, session: newSession() }));
    t.equal(r.direction, answered, `${offered} → ${answered}`);
    t.match(r.answer, new RegExp(`a=${answered}\\r\\n$`));
  }
});

t.test('hold: a=sendonly and c=0.0.0.0 are holds, a normal or ICE offer is not', async (t) => {
  t.equal(isHold(offers.HOLD_SENDONLY), true);
  t.equal(isHold(offers.TWILIO_LIKE.replace('a=sendrecv', 'a=inactive')), true);
  t.equal(isHold(offers.HOLD_NULL_ADDRESS), true);
  t.equal(isHold(parseSdp(offers.HOLD_NULL_ADDRESS)), true, 'accepts a parsed description too');
  t.equal(isHold(offers.TWILIO_LIKE), false);
  t.equal(isHold(offers.TWILIO_LIKE.replace('a=sendrecv', 'a=recvonly')), false);
  t.equal(isHold(offers.WEBRTC_OPUS), false, 'ICE placeholder c=0.0.0.0 port 9 is not a hold');
  t.equal(isHold(offers.AUDIO_VIDEO), false);

  const r = ok(t, negotiate(offers.HOLD_NULL_ADDRESS, { local, session: newSession() }));
  t.equal(r.direction, 'recvonly', 'we never say we send to 0.0.0.0');
  t.same(r.remote, { address: '0.0.0.0', port: 16384 });
  t.equal(r.dtmfPayloadType, 101);
});

t.test('one dialog: session id fixed, version moves on only when the answer changes', async (t) => {
  const session = newSession();
  const origin = (answer: string): [string, string] => {
    const o = parseSdp(answer).origin;
    return [o.sessionId, o.sessionVersion];
  };
  const first = ok(t, negotiate(offers.TWILIO_LIKE, { local, session }));
  t.same(origin(first.answer), ['1234567890', '1']);
  const refresh = ok(t, negotiate(offers.TWILIO_LIKE, { local, session }));
  t.equal(refresh.answer, first.answer, 'a session refresh gets the identical SDP, same version (RFC 3264 §8)');
  const hold = ok(t, negotiate(offers.HOLD_SENDONLY, { local, session, current: first.codec }));
  t.same(origin(hold.answer), ['1234567890', '2']);
  t.equal(hold.direction, 'recvonly');
  const unhold = ok(t, negotiate(offers.TWILIO_LIKE, { local, session, current: hold.codec }));
  t.same(origin(unhold.answer), ['1234567890', '3']);
  const moved = ok(t, negotiate(offers.TWILIO_LIKE, { local: { ...local, port: 40002 }, session }));
  t.same(origin(moved.answer), ['1234567890', '4'], 'another local port is a change');
  t.equal(session.currentVersion, '4');
});

t.test('re-INVITE keeps the codec in use when it is still offered', async (t) => {
  const session = newSession();
  const first = ok(t, negotiate(offers.TELNYX_LIKE, { local, session, codecs: DEFAULT_CODECS.filter((c) => c.name !== 'PCMA') }));
  t.equal(first.codec.name, 'PCMU');
  // The re-offer lists PCMA first again; we stay on PCMU rather than switch mid-call.
  const again = ok(t, negotiate(offers.TELNYX_LIKE, { local, session, current: first.codec }));
  t.equal(again.codec.name, 'PCMU');
  const fresh = ok(t, negotiate(offers.TELNYX_LIKE, { local, session: newSession() }));
  t.equal(fresh.codec.name, 'PCMA', 'without a current codec the offer\'s order decides');
});

t.test('IPv6 local address gives IP6 in o= and c=', async (t) => {
  const r = ok(t, negotiate(offers.TWILIO_LIKE, { local: { address: '2001:db8::10', port: 40000 }, session: newSession() }));
  t.match(r.answer, /o=kalem 1234567890 1 IN IP6 2001:db8::10\r\n/);
  t.match(r.answer, /c=IN IP6 2001:db8::10\r\n/);
});

t.test('bad arguments are TypeErrors', async (t) => {
  t.throws(() => negotiate(offers.TWILIO_LIKE, { local: { address: '192.0.2.1', port: 0 }, session: newSession() }), TypeError);
  t.throws(() => negotiate(offers.TWILIO_LIKE, { local: { address: 'a b', port: 4000 }, session: newSession() }), TypeError);
  t.throws(() => new LocalSdpSession({ sessionId: 'x1' }), TypeError);
  t.throws(() => new LocalSdpSession({ username: 'two words' }), TypeError);
  t.match(new LocalSdpSession().sessionId, /^\d{10,15}$/, 'a random numeric session id by default');
});
