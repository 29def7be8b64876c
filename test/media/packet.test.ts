import t from 'tap';
import { isRtcp, parseRtp, rtpPacketSize, writeRtp, writeRtpInto } from '../../src/media/rtp/packet.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

t.test('parses a minimal packet by hand', async (t) => {
  // V=2, no P/X/CC; M=1, PT=0; seq 0x1234; ts 0xdeadbeef; ssrc 0x01020304; payload ff ff
  const buf = hex('80 80 1234 deadbeef 01020304 ffff');
  const p = parseRtp(buf);
  t.ok(p);
  t.equal(p!.marker, true);
  t.equal(p!.payloadType, 0);
  t.equal(p!.sequenceNumber, 0x1234);
  t.equal(p!.timestamp, 0xdeadbeef);
  t.equal(p!.ssrc, 0x01020304);
  t.same(p!.csrcs, []);
  t.equal(p!.extension, null);
  t.same([...p!.payload], [0xff, 0xff]);
  t.equal(p!.payload.buffer, buf.buffer, 'payload is a view, not a copy');
});

t.test('CSRC list, header extension and padding', async (t) => {
  // V=2 P=1 X=1 CC=2; PT=8; two CSRCs; extension profile 0xBEDE with 1 word; payload 3 bytes; 4 padding bytes.
  const buf = hex('b2 08 0001 00000640 cafebabe 00000011 00000022 bede 0001 10ab0000 010203 00000004');
  const p = parseRtp(buf)!;
  t.ok(p);
  t.equal(p.marker, false);
  t.equal(p.payloadType, 8);
  t.same(p.csrcs, [0x11, 0x22]);
  t.equal(p.extension!.profile, 0xbede);
  t.same([...p.extension!.data], [0x10, 0xab, 0, 0]);
  t.same([...p.payload], [1, 2, 3]);
  t.equal(p.paddingLength, 4);
});

t.test('write then parse round-trips every field', async (t) => {
  const init = {
    marker: true,
    payloadType: 101,
    sequenceNumber: 65535,
    timestamp: 0xffffffff,
    ssrc: 0x80000001,
    csrcs: [1, 0xffffffff],
    extension: { profile: 0x1000, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
    payload: Uint8Array.of(9, 8, 7),
    paddingLength: 5,
  };
  const buf = writeRtp(init);
  t.equal(buf.length, rtpPacketSize(init));
  t.equal(buf.length, 12 + 8 + 4 + 8 + 3 + 5);
  const p = parseRtp(buf)!;
  t.equal(p.marker, true);
  t.equal(p.payloadType, 101);
  t.equal(p.sequenceNumber, 65535);
  t.equal(p.timestamp, 0xffffffff);
  t.equal(p.ssrc, 0x80000001);
  t.same(p.csrcs, [1, 0xffffffff]);
  t.same([...p.extension!.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  t.equal(p.extension!.profile, 0x1000);
  t.same([...p.payload], [9, 8, 7]);
  t.equal(p.paddingLength, 5);
  t.equal(buf[buf.length - 1], 5, 'last padding byte holds the count');

  const plain = writeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: new Uint8Array(160) });
  t.equal(plain.length, 172);
  t.equal(plain[0], 0x80);
  t.equal(plain[1], 0x00);
});

t.test('writeRtpInto writes at an offset and refuses a short buffer', async (t) => {
  const out = new Uint8Array(200);
  const n = writeRtpInto({ payloadType: 0, sequenceNumber: 7, timestamp: 8, ssrc: 9, payload: Uint8Array.of(1, 2) }, out, 10);
  t.equal(n, 14);
  t.equal(parseRtp(out.subarray(10, 10 + n))!.sequenceNumber, 7);
  t.throws(() => writeRtpInto({ payloadType: 0, sequenceNumber: 7, timestamp: 8, ssrc: 9, payload: new Uint8Array(190) }, out), RangeError);
});

t.test('bad fields on write are TypeErrors', async (t) => {
  const base = { payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(0) };
  t.throws(() => writeRtp({ ...base, payloadType: 128 }), TypeError);
  t.throws(() => writeRtp({ ...base, sequenceNumber: 65536 }), TypeError);
  t.throws(() => writeRtp({ ...base, timestamp: -1 }), TypeError);
  t.throws(() => writeRtp({ ...base, csrcs: new Array(16).fill(0) }), TypeError);
  t.throws(() => writeRtp({ ...base, extension: { profile: 1, data: new Uint8Array(3) } }), TypeError);
  t.throws(() => writeRtp({ ...base, paddingLength: 256 }), TypeError);
});

t.test('malformed input returns null, never throws', async (t) => {
  t.equal(parseRtp(new Uint8Array(0)), null, 'empty');
  t.equal(parseRtp(hex('80 00 0001 00000000 000000')), null, 'shorter than the fixed header');
  t.equal(parseRtp(hex('40 00 0001 00000000 00000001')), null, 'version 1');
  t.equal(parseRtp(hex('c0 00 0001 00000000 00000001')), null, 'version 3');
  t.equal(parseRtp(hex('82 00 0001 00000000 00000001 00000011')), null, 'CSRC count beyond the packet');
  t.equal(parseRtp(hex('90 00 0001 00000000 00000001 bede')), null, 'extension header truncated');
  t.equal(parseRtp(hex('90 00 0001 00000000 00000001 bede 0002 00000000')), null, 'extension length beyond the packet');
  t.equal(parseRtp(hex('a0 00 0001 00000000 00000001 aabb00')), null, 'padding count 0');
  t.equal(parseRtp(hex('a0 00 0001 00000000 00000001 aabb09')), null, 'padding longer than the payload');
  t.ok(parseRtp(hex('a0 00 0001 00000000 00000001 aabb03')), 'padding that eats exactly the payload is fine');
  t.equal(parseRtp(hex('a0 00 0001 00000000 00000001 aabb03'))!.payload.length, 0);
  // RTCP receiver report on a muxed port: second byte 201.
  const rr = hex('81 c9 0007 00000001 00000002 00000000 00000000 00000000 00000000 00000000');
  t.ok(isRtcp(rr));
  t.equal(parseRtp(rr), null, 'RTCP is not RTP');
  t.notOk(isRtcp(hex('80 00 0001 00000000 00000001')));
  // Random garbage must never throw.
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 0xff;
  let parsed = 0;
  let inBounds = true;
  for (let i = 0; i < 20_000; i++) {
    const len = rand() % 64;
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = rand();
    const p = parseRtp(b);
    if (p) {
      parsed++;
      if (p.payload.byteOffset + p.payload.length > b.byteOffset + b.length) inBounds = false;
    }
  }
  t.ok(parsed > 0, 'some random buffers happen to be valid RTP');
  t.ok(inBounds, 'every parsed payload lies inside its buffer');
});
