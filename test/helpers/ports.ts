import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';

const canBindTcp = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

const canBindUdp = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/**
 * An even port free on 127.0.0.1 for UDP and TCP right now (SIPp must be told its ports; our own
 * listeners bind port 0 instead). Random probing in 42000-59998: Linux hands out odd ports for
 * bind(0), and SIPp wants its RTP port even. Below 42000 lie the ranges other tests' daemons bind
 * later (rtpengine media 20000-32000, the gateway's own RTP 40000-40999): a port free when
 * probed there could be taken before SIPp binds it (seen as "Address already in use").
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = randomInt(21_000, 30_000) * 2;
    if ((await canBindUdp(port)) && (await canBindTcp(port)) && (await canBindUdp(port + 2))) return port;
  }
  throw new Error('no free port found in 200 tries');
}
