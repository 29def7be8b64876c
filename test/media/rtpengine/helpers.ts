// Shared pieces of the rtpengine tests. They run against the REAL rtpengine 10.5 (Debian
// rtpengine-daemon's /usr/bin/rtpengine, installed by `make setup`) in managed mode, each test
// with its own instance on free loopback ports and its own media port range.
import { spawnSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { openRtpengine, type Rtpengine, type RtpengineOptions } from '../../../src/media/rtpengine/open-rtpengine.js';

/** Why the suite cannot run here, or undefined when rtpengine is installed. */
export function rtpengineMissing(): string | undefined {
  const r = spawnSync('rtpengine', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'rtpengine not installed: apt-get install rtpengine-daemon (make setup does)';
  return undefined;
}

/**
 * A media port range of its own for each instance: random, below Linux's ephemeral range
 * (32768+) so it does not collide with ports the tests bind with port 0.
 */
export function mediaPortRange(size = 60): { portMin: number; portMax: number } {
  const portMin = 20000 + 2 * Math.floor(Math.random() * ((12000 - size) / 2));
  return { portMin, portMax: portMin + size - 1 };
}

/** Starts a managed rtpengine for one test and stops it in the test's teardown. */
export async function startManaged(t: Test, options: Partial<RtpengineOptions> = {}): Promise<Rtpengine> {
  const rtp = await openRtpengine({ mode: 'managed', ...mediaPortRange(), ...options });
  t.teardown(() => rtp.close());
  return rtp;
}

/** True while a process with this pid exists and is not a zombie (dead, waiting to be reaped). */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S …": the state letter follows the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Resolves once `pid` is gone; polls /proc because there is no event for another process's death. */
export async function waitGone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** pids whose command line contains `pattern` (pgrep -f), other than pgrep itself. */
export function pgrep(pattern: string): number[] {
  const r = spawnSync('pgrep', ['-f', '--', pattern], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

export async function udpSocket(t: Test, host = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, host, () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => s.close(() => resolve())));
  return s;
}

/**
 * Sends `packet` to host:port every 20 ms until `receiver` gets a datagram for which `match`
 * holds, or `timeoutMs` passes (then rejects). Re-sending covers packets rtpengine drops while
 * it is still setting up a stream; the timeout is only the failure path.
 */
export function sendUntilReceived(
  sender: Socket,
  packet: Buffer,
  host: string,
  port: number,
  receiver: Socket,
  match: (msg: Buffer) => boolean,
  timeoutMs = 3000,
): Promise<{ msg: Buffer; rinfo: RemoteInfo }> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
      if (!match(msg)) return;
      cleanup();
      resolve({ msg, rinfo });
    };
    const send = (): void => sender.send(packet, port, host);
    const interval = setInterval(send, 20);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`nothing arrived within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearInterval(interval);
      clearTimeout(timer);
      receiver.off('message', onMessage);
    };
    receiver.on('message', onMessage);
    send();
  });
}

/** An RTP packet (RFC 3550): version 2, no CSRC/extension, 160 bytes of payload (20 ms G.711). */
export function rtpPacket(payloadType: number, seq: number, timestamp: number, ssrc: number, fill: number): Buffer {
  const b = Buffer.alloc(12 + 160, fill);
  b[0] = 0x80;
  b[1] = payloadType & 0x7f;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(timestamp >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

export interface SdpOptions {
  address?: string;
  port: number;
  proto?: string;
  payloadTypes: Array<[pt: number, rtpmap: string]>;
  extra?: string[];
  origin?: string;
}

/** A one-audio-stream SDP with CRLF line ends, as a carrier or our endpoint would send it. */
export function sdp(o: SdpOptions): string {
  const address = o.address ?? '127.0.0.1';
  return [
    'v=0',
    `o=${o.origin ?? 'carrier'} 2890844526 2890844526 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${o.port} ${o.proto ?? 'RTP/AVP'} ${o.payloadTypes.map(([pt]) => pt).join(' ')}`,
    ...o.payloadTypes.map(([pt, map]) => `a=rtpmap:${pt} ${map}`),
    ...(o.extra ?? []),
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** The fields of an SDP the tests look at. */
export function parseSdp(text: string): { address: string | undefined; port: number; proto: string; payloadTypes: string[]; lines: string[] } {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const m = lines.find((l) => l.startsWith('m=audio '));
  const c = [...lines].reverse().find((l) => l.startsWith('c=IN IP4 '));
  const parts = m?.split(' ') ?? [];
  return {
    address: c?.slice('c=IN IP4 '.length),
    port: Number(parts[1]),
    proto: parts[2] ?? '',
    payloadTypes: parts.slice(3),
    lines,
  };
}
