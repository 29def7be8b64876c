/**
 * Realistic carrier offers, written by hand in the shape each kind of peer sends (addresses from
 * the documentation ranges or the carriers' public media ranges; keys are made up).
 */

const sdp = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

/** A Twilio-style Elastic SIP Trunking offer: PCMU, PCMA, telephone-event 101 (0-16). */
export const TWILIO_LIKE = sdp(
  'v=0',
  'o=root 1565889305 1565889305 IN IP4 54.172.60.1',
  's=Twilio Media Gateway',
  'c=IN IP4 54.172.60.1',
  't=0 0',
  'm=audio 15338 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
);

/** A Telnyx-style offer preferring PCMA, with G.722, comfort noise and DTMF 0-15. */
export const TELNYX_LIKE = sdp(
  'v=0',
  'o=- 7281467 7281467 IN IP4 192.76.120.10',
  's=-',
  'c=IN IP4 192.76.120.10',
  't=0 0',
  'm=audio 20442 RTP/AVP 8 0 9 101 13',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=rtpmap:13 CN/8000',
  'a=ptime:20',
  'a=sendrecv',
);

/** An SBC offering SDES-SRTP only, with two crypto suites. */
export const SRTP_SDES = sdp(
  'v=0',
  'o=- 3916358735 3916358735 IN IP4 203.0.113.50',
  's=SBC',
  'c=IN IP4 203.0.113.50',
  't=0 0',
  'm=audio 40000 RTP/SAVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32',
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32',
  'a=sendrecv',
);

/** A browser (WebRTC) offer: Opus only over DTLS-SRTP with ICE, attributes in browser order. */
export const WEBRTC_OPUS = sdp(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:k3Xw',
  'a=ice-pwd:Vn6a0E0s7hDPq5tG0sx2Rb9d',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 3A:96:6D:57:B2:C2:C7:61:A0:46:3E:1C:97:39:D3:F7:0A:88:A0:B1:EC:11:D5:5C:A2:0C:1C:DD:4B:7A:2A:5E',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=msid:- 0f8a5c1e-5a4b-4f9c-8d59-0c1f1c2f5a3d',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:1001 cname:8yQpU6lVcm4pSYJ5',
);

/**
 * The same browser offer as rtpengine hands it to our endpoint: plain RTP/AVP on loopback, ICE
 * and DTLS removed, telephone-event offered at both 48000 and 8000.
 */
export const OPUS_AFTER_RTPENGINE = sdp(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 30010 RTP/AVP 111 110 126',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:110 telephone-event/48000',
  'a=fmtp:110 0-15',
  'a=rtpmap:126 telephone-event/8000',
  'a=fmtp:126 0-15',
  'a=ptime:20',
  'a=sendrecv',
);

/** G.729 only (a cheap international route): nothing we can decode. */
export const G729_ONLY = sdp(
  'v=0',
  'o=Sonus_UAC 24587 13982 IN IP4 198.51.100.7',
  's=SIP Media Capabilities',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 24020 RTP/AVP 18 101',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
);

/** The Twilio-like session re-offered to put us on hold (RFC 3264 §8.4 style). */
export const HOLD_SENDONLY = sdp(
  'v=0',
  'o=root 1565889305 1565889306 IN IP4 54.172.60.1',
  's=Twilio Media Gateway',
  'c=IN IP4 54.172.60.1',
  't=0 0',
  'm=audio 15338 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendonly',
);

/** An old PBX holding the call the RFC 2543 way: c=0.0.0.0, no direction attribute. */
export const HOLD_NULL_ADDRESS = sdp(
  'v=0',
  'o=pbx 1000 1001 IN IP4 192.0.2.20',
  's=call',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'm=audio 16384 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
);

/** A video phone: audio plus an H.264 video stream we do not take (media-level c= lines). */
export const AUDIO_VIDEO = sdp(
  'v=0',
  'o=user 2890844526 2890844526 IN IP4 198.51.100.33',
  's=Video call',
  't=0 0',
  'm=audio 49170 RTP/AVP 9 0 101',
  'c=IN IP4 198.51.100.33',
  'b=AS:64',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=sendrecv',
  'm=video 51372 RTP/AVP 96',
  'c=IN IP4 198.51.100.33',
  'b=AS:512',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1',
  'a=sendrecv',
);
