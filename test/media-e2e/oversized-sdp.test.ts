import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { runSipp } from '../helpers/sipp.js';
import { ECHO, mediaGateway } from './helpers.js';
import { finalResponse, inDialog, invite } from './raw-sip.js';

/**
 * PROTOS c07-sip case 0002464 and its kin: an INVITE whose SDP is too large or not UTF-8 is
 * refused with 488 before it reaches rtpengine, and the gateway's rtpengine control carries on
 * for every other call. The gateway runs the embedded engine behind the REAL managed rtpengine;
 * the bad INVITEs are written byte by byte on a UDP socket (SIPp cannot send a non-UTF-8 body);
 * a SIPp call placed at the same time must succeed.
 */

function sdpWith(filler: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns='),
    filler,
    Buffer.from('\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'),
  ]);
}

/** The status line of the INVITE's final response; a 200 is ACKed and the call ended with BYE. */
async function finalStatus(sock: Socket, msg: Buffer, port: number): Promise<string> {
  const response = await finalResponse(sock, msg, port);
  const line = response.split('\r\n')[0]!;
  if (line.startsWith('SIP/2.0 200')) {
    sock.send(inDialog(response, 'ACK', ECHO, port), port, '127.0.0.1');
    await finalResponse(sock, inDialog(response, 'BYE', ECHO, port), port);
  }
  return line;
}

t.test('an oversized or non-UTF-8 SDP offer gets 488; a call placed meanwhile goes through rtpengine as usual', async (t) => {
  const { gw } = await mediaGateway();
  t.teardown(() => gw.stop());
  const port = gw.port('udp');
  const sock = createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  t.teardown(() => sock.close());

  const normal = runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${port}`, transport: 'u1', service: ECHO, pauseMs: 1500, timeoutS: 30 });
  // 60,000 bytes of 0xE9 (é in Latin-1; no UTF-8): 180 KB once each byte becomes U+FFFD.
  const latin1 = await finalStatus(sock, invite(port, ECHO, 'bad-latin1', sdpWith(Buffer.alloc(60_000, 0xe9))), port);
  t.match(latin1, /^SIP\/2\.0 488 /, `non-UTF-8 SDP: ${latin1}`);
  // A few bad bytes in an otherwise small offer.
  const sprinkled = await finalStatus(sock, invite(port, ECHO, 'bad-bytes', sdpWith(Buffer.from([0x41, 0xff, 0xfe, 0x42]))), port);
  t.match(sprinkled, /^SIP\/2\.0 488 /, `a few non-UTF-8 bytes: ${sprinkled}`);
  // Valid text, but 20 KB of it.
  const big = await finalStatus(sock, invite(port, ECHO, 'too-big', sdpWith(Buffer.alloc(20_000, 0x61))), port);
  t.match(big, /^SIP\/2\.0 488 /, `20 KB SDP: ${big}`);
  // Just under the limit is still a normal offer.
  const fine = await finalStatus(sock, invite(port, ECHO, 'large-ok', sdpWith(Buffer.alloc(15_000, 0x61))), port);
  t.match(fine, /^SIP\/2\.0 200 /, `a 15 KB offer is answered: ${fine}`);

  const run = await normal;
  t.equal(run.code, 0, `the concurrent SIPp call succeeded${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-2000)}`}`);
  const refused = gw.records('call refused after admission').map((r) => r['why']);
  t.same(
    refused.filter((w) => typeof w === 'string' && w.startsWith('SDP offer')).sort(),
    // The 60 KB Latin-1 body is refused for its size first (180 KB once decoded).
    ['SDP offer is not valid UTF-8', 'SDP offer larger than 16384 bytes', 'SDP offer larger than 16384 bytes'],
    'each refusal says why',
  );
  t.notOk(gw.logs.some((l) => l.includes('EMSGSIZE') || l.includes('control socket')), 'the rtpengine control socket never failed');
});
