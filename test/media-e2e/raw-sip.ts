// A carrier written byte by byte on a UDP socket, for what SIPp cannot send or time: bodies that
// are not UTF-8, RTP with chosen gaps and timing. Only what the tests need: INVITE, its final
// response, ACK and BYE of a 2xx.
import type { Socket } from 'node:dgram';

export function invite(port: number, number: string, callId: string, body: Buffer): Buffer {
  const head = [
    `INVITE sip:${number}@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId};rport`,
    `From: <sip:+14155550999@127.0.0.1>;tag=${callId}-tag`,
    `To: <sip:${number}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:carrier@127.0.0.1:${port}>`,
    'Max-Forwards: 70',
    'Content-Type: application/sdp',
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Sends `msg` and resolves with the first final response (2xx-6xx) as text. */
export function finalResponse(sock: Socket, msg: Buffer, port: number): Promise<string> {
  const done = new Promise<string>((resolve) => {
    const on = (m: Buffer): void => {
      const text = m.toString('latin1');
      if (/^SIP\/2\.0 [2-6]\d\d /.test(text)) {
        sock.off('message', on);
        resolve(text);
      }
    };
    sock.on('message', on);
  });
  sock.send(msg, port, '127.0.0.1');
  return done;
}

/** ACK or BYE in the dialog of a 2xx `response`. */
export function inDialog(response: string, method: 'ACK' | 'BYE', number: string, port: number): Buffer {
  const header = (name: string): string => new RegExp(`^${name}:.*$`, 'mi').exec(response)![0];
  const callId = header('Call-ID').replace(/^Call-ID:\s*/i, '');
  return Buffer.from(
    [
      `${method} sip:${number}@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId}-${method};rport`,
      header('From'),
      header('To'),
      `Call-ID: ${callId}`,
      `CSeq: ${method === 'ACK' ? 1 : 2} ${method}`,
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}
