import t from 'tap';
import { SdpError, effectiveConnection, effectiveDirection, parseSdp, serializeSdp } from '../../src/sdp/index.js';
import * as offers from './offers.js';

const sdp = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

t.test('every sample offer survives parse → serialize → parse unchanged', async (t) => {
  for (const [name, text] of Object.entries(offers)) {
    const once = parseSdp(text);
    const written = serializeSdp(once);
    t.same(parseSdp(written), once, `${name}: same structure after a round trip`);
    t.equal(serializeSdp(parseSdp(written)), written, `${name}: serialising is a fixed point`);
    t.ok(written.endsWith('\r\n') && !/[^\r]\n/.test(written), `${name}: CRLF line ends only`);
  }
});

t.test('offers already in canonical order come back byte for byte', async (t) => {
  for (const name of ['TWILIO_LIKE', 'TELNYX_LIKE', 'SRTP_SDES', 'OPUS_AFTER_RTPENGINE', 'G729_ONLY', 'HOLD_SENDONLY', 'HOLD_NULL_ADDRESS', 'AUDIO_VIDEO'] as const) {
    t.equal(serializeSdp(parseSdp(offers[name])), offers[name], name);
  }
});

t.test('Twilio-like offer: the fields a gateway acts on', async (t) => {
  const sd = parseSdp(offers.TWILIO_LIKE);
  t.same(sd.origin, {
    username: 'root',
    sessionId: '1565889305',
    sessionVersion: '1565889305',
    netType: 'IN',
    addrType: 'IP4',
    address: '54.172.60.1',
  });
  t.equal(sd.sessionName, 'Twilio Media Gateway');
  t.same(sd.connection, { netType: 'IN', addrType: 'IP4', address: '54.172.60.1', suffix: null });
  t.equal(sd.media.length, 1);
  const m = sd.media[0]!;
  t.equal(m.type, 'audio');
  t.equal(m.port, 15338);
  t.equal(m.proto, 'RTP/AVP');
  t.same(m.formats, ['0', '8', '101']);
  t.same(m.rtpmaps, [
    { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: null },
    { payloadType: 8, encoding: 'PCMA', clockRate: 8000, channels: null },
    { payloadType: 101, encoding: 'telephone-event', clockRate: 8000, channels: null },
  ]);
  t.same(m.fmtps, [{ format: '101', params: '0-16' }]);
  t.equal(m.ptime, 20);
  t.equal(m.maxptime, 150);
  t.equal(m.direction, 'sendrecv');
  t.same(m.attributes, [], 'nothing left uninterpreted');
  t.equal(m.connection, null);
  t.same(effectiveConnection(sd, m)?.address, '54.172.60.1', 'session-level c= applies');
});

t.test('SRTP offer: both a=crypto lines kept verbatim and in order', async (t) => {
  const m = parseSdp(offers.SRTP_SDES).media[0]!;
  t.equal(m.proto, 'RTP/SAVP');
  t.same(m.crypto, [
    '1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32',
    '2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32',
  ]);
  const written = serializeSdp(parseSdp(offers.SRTP_SDES));
  t.match(written, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNf[^\r]*\|2\^20\|1:32\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 /);
});

t.test('WebRTC offer: opus/48000/2, media-level c=, other attributes kept in order', async (t) => {
  const sd = parseSdp(offers.WEBRTC_OPUS);
  t.equal(sd.connection, null);
  t.same(
    sd.attributes.map((a) => a.name),
    ['group', 'extmap-allow-mixed', 'msid-semantic'],
  );
  t.equal(sd.attributes[2]!.value, ' WMS', 'attribute values are not trimmed');
  const m = sd.media[0]!;
  t.equal(m.proto, 'UDP/TLS/RTP/SAVPF');
  t.same(m.rtpmaps[0], { payloadType: 111, encoding: 'opus', clockRate: 48000, channels: 2 });
  t.same(m.fmtps[0], { format: '111', params: 'minptime=10;useinbandfec=1' });
  t.same(m.connection?.address, '0.0.0.0');
  t.same(
    m.attributes.map((a) => a.name),
    ['rtcp', 'ice-ufrag', 'ice-pwd', 'ice-options', 'fingerprint', 'setup', 'mid', 'msid', 'rtcp-mux', 'rtcp-fb', 'ssrc'],
  );
  t.equal(m.attributes.find((a) => a.name === 'rtcp-mux')?.value, null, 'a flag attribute has no value');
});

t.test('audio + video: media-level c= and b= per section', async (t) => {
  const sd = parseSdp(offers.AUDIO_VIDEO);
  t.same(
    sd.media.map((m) => [m.type, m.port, m.bandwidths]),
    [
      ['audio', 49170, ['AS:64']],
      ['video', 51372, ['AS:512']],
    ],
  );
  t.equal(sd.media[1]!.rtpmaps[0]!.clockRate, 90000);
});

t.test('direction: media attribute, else session attribute, else sendrecv', async (t) => {
  const sd = parseSdp(
    sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'a=sendonly', 'm=audio 4000 RTP/AVP 0', 'm=audio 4002 RTP/AVP 0', 'a=inactive'),
  );
  t.equal(sd.direction, 'sendonly');
  t.equal(effectiveDirection(sd, sd.media[0]!), 'sendonly');
  t.equal(effectiveDirection(sd, sd.media[1]!), 'inactive');
  const plain = parseSdp(offers.HOLD_NULL_ADDRESS);
  t.equal(effectiveDirection(plain, plain.media[0]!), 'sendrecv');
});

t.test('lenient where carriers are sloppy', async (t) => {
  const lf = offers.TWILIO_LIKE.replace(/\r\n/g, '\n');
  t.same(parseSdp(lf), parseSdp(offers.TWILIO_LIKE), 'bare LF line ends');
  t.same(parseSdp(offers.TWILIO_LIKE + '\r\n\r\n'), parseSdp(offers.TWILIO_LIKE), 'trailing blank lines');
  const emptyS = parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=', 'c=IN IP4 192.0.2.1', 't=0 0'));
  t.equal(emptyS.sessionName, '');
  t.match(serializeSdp(emptyS), /\r\ns=-\r\n/, 'an empty s= is written as s=- (RFC 4566 §5.3)');
  const decimalPtime = parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=ptime:20.0'));
  t.equal(decimalPtime.media[0]!.ptime, 20);
  const dupRtpmap = parseSdp(
    sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PCMU/8000'),
  );
  t.equal(dupRtpmap.media[0]!.rtpmaps.length, 1, 'an identical repeated rtpmap is harmless');
  const rejectedNoC = parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=video 0 RTP/AVP 96'));
  t.equal(rejectedNoC.media[0]!.port, 0, 'a rejected stream may lack c=');
  const multicast = parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 233.252.0.1/127/3', 't=0 0'));
  t.same(multicast.connection, { netType: 'IN', addrType: 'IP4', address: '233.252.0.1', suffix: '127/3' });
  t.match(serializeSdp(multicast), /c=IN IP4 233\.252\.0\.1\/127\/3\r\n/);
});

t.test('malformed SDP: SdpError naming the line and the problem', async (t) => {
  const base = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0'];
  const cases: Array<[string, string[], RegExp, number | null]> = [
    ['empty body', [], /no v= line/, null],
    ['not starting with v=', ['o=- 1 1 IN IP4 192.0.2.1', 'v=0'], /line 1 .*must start with v=/, 1],
    ['version 1', ['v=1', ...base.slice(1)], /line 1 .*only SDP version 0/, 1],
    ['short o=', ['v=0', 'o=- 1 IN IP4 192.0.2.1', ...base.slice(2)], /line 2 .*o= needs 6 fields/, 2],
    ['non-numeric sess-id', ['v=0', 'o=- abc 1 IN IP4 192.0.2.1', ...base.slice(2)], /line 2 .*sess-id/, 2],
    ['no s=', ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 't=0 0'], /no s= line/, null],
    ['no t=', base.slice(0, 4), /no t= line/, null],
    ['unknown type letter', [...base, 'x=foo'], /line 6 .*unknown line type "x="/, 6],
    ['not type=value', [...base, 'a rtpmap'], /line 6 .*expected "<type>=<value>"/, 6],
    ['space before =', [...base, 'a =sendrecv'], /line 6/, 6],
    ['port out of range', [...base, 'm=audio 70000 RTP/AVP 0'], /line 6 .*port out of range/, 6],
    ['port not a number', [...base, 'm=audio x RTP/AVP 0'], /line 6 .*port is not a number/, 6],
    ['m= without formats', [...base, 'm=audio 4000 RTP/AVP'], /line 6 .*at least one format/, 6],
    ['RTP format not a payload type', [...base, 'm=audio 4000 RTP/AVP PCMU'], /line 6 .*not an RTP payload type/, 6],
    ['payload type 128', [...base, 'm=audio 4000 RTP/AVP 128'], /line 6 .*not an RTP payload type/, 6],
    ['rtpmap without clock rate', [...base, 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU'], /line 7 .*rtpmap encoding/, 7],
    ['rtpmap bad pt', [...base, 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:x PCMU/8000'], /line 7 .*payload type/, 7],
    ['rtpmap zero rate', [...base, 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/0'], /line 7 .*clock rate/, 7],
    [
      'conflicting rtpmap',
      [...base, 'm=audio 4000 RTP/AVP 96', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:96 PCMU/8000'],
      /line 8 .*mapped twice/,
      8,
    ],
    ['fmtp without format', [...base, 'm=audio 4000 RTP/AVP 0', 'a=fmtp:'], /line 7 .*fmtp/, 7],
    ['bad ptime', [...base, 'm=audio 4000 RTP/AVP 0', 'a=ptime:soon'], /line 7 .*ptime is not a positive number/, 7],
    ['conflicting directions', [...base, 'm=audio 4000 RTP/AVP 0', 'a=sendonly', 'a=recvonly'], /line 8 .*conflicting direction/, 8],
    ['o= inside media', [...base, 'm=audio 4000 RTP/AVP 0', 'o=- 2 2 IN IP4 192.0.2.1'], /line 7 .*not allowed inside a media section/, 7],
    ['two c= in one section', [...base, 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 192.0.2.2', 'c=IN IP4 192.0.2.3'], /line 8 .*more than one c=/, 8],
    ['c= with two fields', ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4', 't=0 0'], /line 4 .*c= needs 3 fields/, 4],
    ['IPv4 garbage', ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 1.2.3.4;x', 't=0 0'], /line 4 .*IPv4/, 4],
    ['r= before t=', ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'r=7d 1h 0 25h', 't=0 0'], /line 4 .*r= without a preceding t=/, 4],
    ['b= malformed', [...base, 'b=lots'], /line 6 .*b= must be/, 6],
    ['no connection anywhere', ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0'], /media section 1 \(m=audio\) has no c= line/, null],
  ];
  for (const [name, lines, message, line] of cases) {
    const text = lines.length === 0 ? '' : sdp(...lines);
    try {
      parseSdp(text);
      t.fail(`${name}: expected an SdpError`);
    } catch (err) {
      t.type(err, SdpError, name);
      t.match((err as SdpError).message, message, name);
      t.equal((err as SdpError).line, line, `${name}: line number`);
    }
  }
  t.throws(() => parseSdp('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\0\r\n'), SdpError, 'NUL byte');
  t.throws(() => parseSdp(42 as unknown as string), TypeError);
});

t.test('an error quotes at most 60 characters of a huge bad line', async (t) => {
  const long = 'a=rtpmap:0 ' + 'X'.repeat(10_000);
  const err = t.throws(() => parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0', long))) as unknown as Error;
  t.ok(err.message.length < 200, 'message stays short');
});

t.test('the serializer refuses values that would inject a line', async (t) => {
  const sd = parseSdp(offers.TWILIO_LIKE);
  sd.media[0]!.attributes.push({ name: 'label', value: 'x\r\na=inactive' });
  t.throws(() => serializeSdp(sd), TypeError);
  const sd2 = parseSdp(offers.TWILIO_LIKE);
  sd2.sessionName = 'evil\nc=IN IP4 6.6.6.6';
  t.throws(() => serializeSdp(sd2), TypeError);
  const sd3 = parseSdp(offers.TWILIO_LIKE);
  sd3.media[0]!.port = 70000;
  t.throws(() => serializeSdp(sd3), TypeError);
});
