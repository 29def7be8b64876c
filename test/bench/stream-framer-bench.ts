/**
 * Cost of framing SIP messages out of a TCP/TLS byte stream (src/sip/embedded/message/
 * stream-framer.ts) as the chunk size shrinks. A linear framer costs about the same per byte
 * whatever the chunking; one that copies its whole buffer per chunk costs O(message² / chunk).
 * Prints a markdown table of ns per byte and ms per 60 KB message. A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/stream-framer-bench.js [messages]
 */
import { cpus, loadavg } from 'node:os';
import { SipStreamFramer } from '../../src/sip/embedded/message/index.js';

const messages = Number.parseInt(process.argv[2] ?? '20', 10);
if (!Number.isInteger(messages) || messages <= 0) throw new TypeError('messages must be a positive integer');

/** A ~60 KB INVITE-sized message (an SDP body that big is what a hostile peer would send). */
function message(bodyBytes: number): Buffer {
  const body = Buffer.alloc(bodyBytes, 'a');
  const head =
    'INVITE sip:+14155550100@gw SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKbench\r\n' +
    'From: <sip:a@b>;tag=1\r\nTo: <sip:gw>\r\nCall-ID: bench\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n' +
    `Content-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

const one = message(60_000);
const stream = Buffer.concat(Array.from({ length: messages }, () => one));
const rows: string[] = [];
for (const chunk of [1400, 100, 16, 4, 1]) {
  // Chunks are cut beforehand so only the framer is timed; a warm-up pass first.
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += chunk) chunks.push(stream.subarray(i, i + chunk));
  for (let pass = 0; pass < 2; pass++) {
    const f = new SipStreamFramer({ maxMessageBytes: 65_535, maxHeaderBytes: 16 * 1024 });
    let out = 0;
    const t0 = process.hrtime.bigint();
    for (const c of chunks) out += f.push(c).length;
    const ns = Number(process.hrtime.bigint() - t0);
    if (out !== messages) throw new Error(`framed ${out} of ${messages} messages`);
    if (pass === 1) {
      rows.push(`| ${chunk} | ${(ns / stream.length).toFixed(1)} | ${(ns / messages / 1e6).toFixed(2)} |`);
    }
  }
}
console.log(`${messages} messages of ${one.length} bytes; node ${process.version}, ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]!.toFixed(2)}`);
console.log('| chunk (bytes) | ns per byte | ms per message |');
console.log('|---:|---:|---:|');
for (const r of rows) console.log(r);
