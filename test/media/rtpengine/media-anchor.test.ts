// The call-level media anchor against the REAL rtpengine 10.5 (managed mode, one instance per
// test). The carrier-facing interface is 127.0.0.2 and the internal one 127.0.0.1, so every test
// also shows which leg lands where.
import t from 'tap';
import { MediaAnchor, audioCodecs } from '../../../src/media/rtpengine/media-anchor.js';
import { RtpengineError } from '../../../src/media/rtpengine/rtpengine-error.js';
import { parseSdp, rtpPacket, rtpengineMissing, sdp, sendUntilReceived, startManaged, udpSocket } from './helpers.js';

const CARRIER_IP = '127.0.0.2';

const SRTP_OFFER = sdp({
  address: '198.51.100.7',
  port: 40000,
  proto: 'RTP/SAVP',
  payloadTypes: [
    [0, 'PCMU/8000'],
    [8, 'PCMA/8000'],
    [101, 'telephone-event/8000'],
  ],
  extra: [
    'a=fmtp:101 0-15',
    'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4',
    'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4',
    'a=ice-ufrag:8hhY',
    'a=ice-pwd:asd88fgpdd777uzjYhagZg',
    'a=candidate:1 1 udp 2130706431 198.51.100.7 40000 typ host',
    'a=candidate:2 1 udp 1694498815 203.0.113.9 40000 typ srflx raddr 198.51.100.7 rport 40000',
  ],
});

function ourAnswer(port: number, payloadTypes: Array<[number, string]> = [[0, 'PCMU/8000'], [101, 'telephone-event/8000']]): string {
  return sdp({ origin: 'kalem', address: '127.0.0.1', port, payloadTypes, extra: ['a=rtcp-mux'] });
}

const missing = rtpengineMissing();
if (missing !== undefined) {
  t.fail(missing);
} else {
  t.test('codec names are read from rtpmap and static payload types', async (t) => {
    t.same(audioCodecs(SRTP_OFFER), ['PCMU', 'PCMA', 'telephone-event']);
    t.same(audioCodecs(sdp({ port: 1, payloadTypes: [[18, 'G729/8000']] }).replace(/a=rtpmap:18.*\r\n/, '')), ['G729'], 'static PT 18 without rtpmap');
    t.same(audioCodecs('v=0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n'), [], 'video is not audio');
  });

  t.test('an SRTP carrier offer becomes plain RTP on loopback; our answer goes back as SRTP with its own key', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });

    const offered = await anchor.offer({ callId: 'srtp-1@carrier', fromTag: 'f1', sdp: SRTP_OFFER, carrierSource: '198.51.100.7' });
    const internal = parseSdp(offered.sdp);
    t.equal(offered.transcoding, false, 'PCMU offered: no transcoding');
    t.equal(internal.proto, 'RTP/AVP', 'internal leg is plain RTP/AVP');
    t.equal(internal.address, '127.0.0.1', 'internal leg is on 127.0.0.1');
    t.ok(internal.port > 0, 'with a port');
    t.notMatch(offered.sdp, /a=crypto/, 'no a=crypto towards our endpoint');
    t.notMatch(offered.sdp, /a=(candidate|ice-ufrag|ice-pwd)/, 'ICE removed');
    t.notMatch(offered.sdp, /198\.51\.100\.7|203\.0\.113\.9/, 'no carrier address leaks into our SDP (origin and connection replaced)');
    t.same(internal.payloadTypes.slice(0, 2), ['0', '8'], 'carrier codecs kept');

    const answered = await anchor.answer({ callId: 'srtp-1@carrier', fromTag: 'f1', toTag: 't1', sdp: ourAnswer(45000) });
    const carrier = parseSdp(answered.sdp);
    t.equal(carrier.proto, 'RTP/SAVP', 'the carrier gets RTP/SAVP back');
    t.equal(carrier.address, CARRIER_IP, 'on the carrier interface');
    const crypto = carrier.lines.filter((l) => l.startsWith('a=crypto:'));
    t.equal(crypto.length, 1, 'one a=crypto in the answer');
    t.match(crypto[0], /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:[A-Za-z0-9+/]{40}/, 'with one of the offered suites');
    t.notMatch(answered.sdp, /WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|NzB4d1BINUAvLEw6UzF3WSJ/, 'rtpengine uses its own key, not the carrier\'s');
    t.notMatch(answered.sdp, /a=(candidate|ice-ufrag)/, 'no ICE towards the carrier');
    t.notMatch(answered.sdp, /45000/, 'our endpoint port is hidden from the carrier');

    t.same(await anchor.activeSessions(), ['srtp-1@carrier']);
    t.same(anchor.trackedCalls(), ['srtp-1@carrier']);
    const q = await anchor.session('srtp-1@carrier');
    t.same(q?.tags.sort(), ['f1', 't1'], 'query knows both tags');
    await anchor.delete({ callId: 'srtp-1@carrier', fromTag: 'f1' });
    t.same(await anchor.activeSessions(), [], 'delete → list shows no session');
    t.same(anchor.trackedCalls(), []);
    t.equal(await anchor.session('srtp-1@carrier'), undefined, 'query: unknown');
    await t.resolves(anchor.delete({ callId: 'srtp-1@carrier', fromTag: 'f1' }), 'deleting again resolves');
    await t.resolves(anchor.delete({ callId: 'never-offered' }), 'deleting an unknown call resolves');
    t.same(await anchor.activeSessions(), [], 'and nothing appears');
  });

  t.test('a G.729-only offer gets PCMU added for our endpoint; the carrier keeps G.729', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    const g729 = sdp({
      address: '198.51.100.7',
      port: 40002,
      payloadTypes: [
        [18, 'G729/8000'],
        [101, 'telephone-event/8000'],
      ],
      extra: ['a=fmtp:18 annexb=no', 'a=fmtp:101 0-15'],
    });
    const offered = await anchor.offer({ callId: 'g729@carrier', fromTag: 'f', sdp: g729 });
    t.equal(offered.transcoding, true, 'transcoding requested');
    t.match(offered.sdp, /a=rtpmap:0 PCMU\/8000/, 'PCMU offered to our endpoint');
    t.ok(parseSdp(offered.sdp).payloadTypes.includes('0'), 'and listed on the m= line');

    const answered = await anchor.answer({ callId: 'g729@carrier', fromTag: 'f', toTag: 't', sdp: ourAnswer(45002) });
    const carrier = parseSdp(answered.sdp);
    t.equal(carrier.payloadTypes[0], '18', 'the carrier is answered with G.729');
    t.notOk(carrier.payloadTypes.includes('0'), 'not with PCMU, which it never offered');
    await anchor.delete({ callId: 'g729@carrier', fromTag: 'f' });
  });

  t.test('a DTLS-SRTP carrier offer: plain RTP inside, DTLS fingerprint back to the carrier', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    const dtls = sdp({
      address: '198.51.100.7',
      port: 40004,
      proto: 'UDP/TLS/RTP/SAVP',
      payloadTypes: [[8, 'PCMA/8000']],
      extra: ['a=setup:actpass', 'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF'],
    });
    const offered = await anchor.offer({ callId: 'dtls@carrier', fromTag: 'f', sdp: dtls });
    t.equal(parseSdp(offered.sdp).proto, 'RTP/AVP');
    t.notMatch(offered.sdp, /a=(fingerprint|setup|crypto)/, 'no DTLS or SDES inside');
    const answered = await anchor.answer({ callId: 'dtls@carrier', fromTag: 'f', toTag: 't', sdp: ourAnswer(45004, [[8, 'PCMA/8000']]) });
    t.equal(parseSdp(answered.sdp).proto, 'UDP/TLS/RTP/SAVP');
    t.match(answered.sdp, /a=fingerprint:sha-256 [0-9A-F:]{95}/, 'rtpengine\'s own fingerprint');
    t.match(answered.sdp, /a=setup:(active|passive)/);
    await anchor.delete({ callId: 'dtls@carrier', fromTag: 'f' });
  });

  t.test('no session is left behind after 20 offer/answer/delete cycles', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    for (let i = 0; i < 20; i++) {
      const callId = `cycle-${i}@carrier`;
      await anchor.offer({ callId, fromTag: `f${i}`, sdp: SRTP_OFFER });
      await anchor.answer({ callId, fromTag: `f${i}`, toTag: `t${i}`, sdp: ourAnswer(46000 + 2 * i) });
      if (i === 10) t.same(await anchor.activeSessions(), [callId], 'one live call mid-way');
      await anchor.delete({ callId, fromTag: `f${i}` });
    }
    t.same(await anchor.activeSessions(), [], 'list is empty');
    t.same(anchor.trackedCalls(), []);
  });

  t.test('an answer for a call rtpengine does not know is a non-retryable error', async (t) => {
    const rtp = await startManaged(t);
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    const err = await anchor.answer({ callId: 'ghost', fromTag: 'f', toTag: 't', sdp: ourAnswer(45006) }).catch((e: unknown) => e);
    t.type(err, RtpengineError);
    t.equal((err as RtpengineError).reason, 'rejected');
    t.equal((err as RtpengineError).retryable, false);
    await t.rejects(anchor.offer({ callId: '', fromTag: 'f', sdp: SRTP_OFFER }), TypeError, 'bad arguments are TypeErrors');

    // After rtpengine died, the calls it carried have no media: the controller takes their ids.
    await anchor.offer({ callId: 'lost-1', fromTag: 'f', sdp: SRTP_OFFER });
    await anchor.offer({ callId: 'lost-2', fromTag: 'f', sdp: SRTP_OFFER });
    t.same(anchor.forgetAll().sort(), ['lost-1', 'lost-2'], 'forgetAll hands over every call not yet deleted');
    t.same(anchor.trackedCalls(), []);
  });

  t.test('real RTP is relayed carrier → our endpoint and back', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    const carrier = await udpSocket(t, CARRIER_IP);
    const endpoint = await udpSocket(t, '127.0.0.1');

    const carrierOffer = sdp({ address: CARRIER_IP, port: carrier.address().port, payloadTypes: [[0, 'PCMU/8000']] });
    const offered = parseSdp((await anchor.offer({ callId: 'relay@carrier', fromTag: 'f', sdp: carrierOffer })).sdp);
    t.equal(offered.address, '127.0.0.1');
    const answered = parseSdp(
      (await anchor.answer({ callId: 'relay@carrier', fromTag: 'f', toTag: 't', sdp: ourAnswer(endpoint.address().port, [[0, 'PCMU/8000']]) })).sdp,
    );
    t.equal(answered.address, CARRIER_IP);

    // Carrier → rtpengine's carrier-side port → our endpoint, from rtpengine's internal port.
    const inbound = rtpPacket(0, 1000, 160_000, 0x11223344, 0x55);
    const got = await sendUntilReceived(carrier, inbound, answered.address!, answered.port, endpoint, (m) => m.length === inbound.length);
    t.equal(got.msg.subarray(12).toString('hex'), inbound.subarray(12).toString('hex'), 'payload arrives unchanged');
    t.equal(got.msg[1]! & 0x7f, 0, 'as PCMU');
    t.same([got.rinfo.address, got.rinfo.port], ['127.0.0.1', offered.port], 'from the port rtpengine gave our endpoint');

    // Our endpoint → rtpengine's internal port → the carrier, from the carrier-side port.
    const outbound = rtpPacket(0, 2000, 320_000, 0x55667788, 0xd5);
    const back = await sendUntilReceived(endpoint, outbound, offered.address!, offered.port, carrier, (m) => m.length === outbound.length && m[12] === 0xd5);
    t.equal(back.msg.subarray(12).toString('hex'), outbound.subarray(12).toString('hex'), 'payload arrives unchanged');
    t.same([back.rinfo.address, back.rinfo.port], [CARRIER_IP, answered.port], 'from the port the carrier was given');

    await anchor.delete({ callId: 'relay@carrier', fromTag: 'f' });
    t.same(await anchor.activeSessions(), []);
  });
}

if (missing === undefined) {
  // A carrier behind NAT writes an address into its SDP that we cannot reach. rtpengine's RTP is
  // symmetric: once the carrier's first packet arrives, rtpengine sends to where it came from.
  t.test('symmetric latching: a carrier behind NAT gets our audio at the address its packets come from', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    const carrier = await udpSocket(t, CARRIER_IP);
    const endpoint = await udpSocket(t, '127.0.0.1');
    // The SDP names a private address and a port nobody listens on.
    const natOffer = sdp({ address: '10.11.12.13', port: 7078, payloadTypes: [[8, 'PCMA/8000']] });
    const offered = parseSdp((await anchor.offer({ callId: 'nat@carrier', fromTag: 'f', sdp: natOffer })).sdp);
    const answered = parseSdp(
      (await anchor.answer({ callId: 'nat@carrier', fromTag: 'f', toTag: 't', sdp: ourAnswer(endpoint.address().port, [[8, 'PCMA/8000']]) })).sdp,
    );
    // The carrier speaks first (from its real address), which is what rtpengine latches onto.
    await sendUntilReceived(carrier, rtpPacket(8, 1, 0, 0xabc, 0x11), answered.address!, answered.port, endpoint, (m) => m[12] === 0x11);
    const back = await sendUntilReceived(endpoint, rtpPacket(8, 1, 0, 0xdef, 0x22), offered.address!, offered.port, carrier, (m) => m[12] === 0x22);
    t.same([back.rinfo.address, back.rinfo.port], [CARRIER_IP, answered.port], 'our audio reaches the carrier\'s real address');
    await anchor.delete({ callId: 'nat@carrier', fromTag: 'f' });
  });

  t.test('ignoreSdpAddress: the SIP source address is the media address from the first packet on', async (t) => {
    const rtp = await startManaged(t, { interfaceAddress: CARRIER_IP });
    const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
    const carrier = await udpSocket(t, CARRIER_IP);
    const endpoint = await udpSocket(t, '127.0.0.1');
    // The SDP's address is wrong but its port is right; the INVITE came from CARRIER_IP.
    const offer = sdp({ address: '10.11.12.13', port: carrier.address().port, payloadTypes: [[0, 'PCMU/8000']] });
    await t.rejects(anchor.offer({ callId: 'x', fromTag: 'f', sdp: offer, ignoreSdpAddress: true }), TypeError, 'needs carrierSource');
    const offered = parseSdp(
      (await anchor.offer({ callId: 'sip-source@carrier', fromTag: 'f', sdp: offer, carrierSource: CARRIER_IP, ignoreSdpAddress: true })).sdp,
    );
    await anchor.answer({ callId: 'sip-source@carrier', fromTag: 'f', toTag: 't', sdp: ourAnswer(endpoint.address().port, [[0, 'PCMU/8000']]) });
    // Our endpoint speaks first: nothing has been latched, rtpengine must use received-from.
    const got = await sendUntilReceived(endpoint, rtpPacket(0, 1, 0, 0x123, 0x33), offered.address!, offered.port, carrier, (m) => m[12] === 0x33);
    t.equal(got.rinfo.address, CARRIER_IP, 'our audio reaches the SIP source address');
    await anchor.delete({ callId: 'sip-source@carrier', fromTag: 'f' });
  });
}
