/**
 * Mutation fuzzing of the SIP message layer, shared by the bounded tap test
 * (test/sip/message/parser-fuzz.test.ts) and the long-running script (sip-parser-fuzz.ts).
 *
 * Seeded and deterministic: a failure report carries the seed and iteration, and the input as
 * base64, so it can be replayed. The property checked is the robustness promise of the message
 * layer: nothing but SipParseError ever leaves the parser, the stream framer or the header value
 * parsers, and whatever parses serializes and parses again to the same message.
 */

import {
  parseMessage,
  serializeMessage,
  SipStreamFramer,
  SipParseError,
  parseVia,
  parseNameAddr,
  parseContact,
  parseCSeq,
  parseUri,
  parseAuthHeader,
  parseDigestCredentials,
  parseDigestChallenge,
  parseParamString,
  DEFAULT_PARSE_LIMITS,
  type ParseLimits,
  type SipMessage,
} from '../../src/sip/embedded/message/index.js';

/** mulberry32: small, fast, good enough to drive mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Rnd = () => number;
const int = (rnd: Rnd, n: number): number => Math.floor(rnd() * n);

const INTERESTING = [
  '\r\n', '\n', '\r', ' ', '\t', ':', ';', ',', '"', '\\', '<', '>', '@', '%', '%00', '=', '/', '?', '[', ']',
  '\x00', '\xff', '0', '-1', '4294967296', '99999999999999999999', 'SIP/2.0', 'z9hG4bK', 'sip:', 'Content-Length: ',
  'l: 999999', 'Via: SIP/2.0/UDP ', '\r\n ', '\r\n\r\n',
];

function lineBounds(buf: Buffer, rnd: Rnd): [number, number] | undefined {
  const head = buf.indexOf('\r\n\r\n');
  const limit = head < 0 ? buf.length : head;
  if (limit <= 0) return undefined;
  const at = int(rnd, limit);
  const start = buf.lastIndexOf('\n', at) + 1;
  let end = buf.indexOf('\n', at);
  end = end < 0 || end > limit ? limit : end + 1;
  return [start, end];
}

/** One mutation; returns the new buffer and what was done (for failure reports). */
export function mutateOnce(input: Buffer, rnd: Rnd, corpus: readonly Buffer[]): [Buffer, string] {
  const n = input.length;
  switch (int(rnd, 11)) {
    case 0: {
      const at = int(rnd, n + 1);
      return [input.subarray(0, at), `truncate@${at}`];
    }
    case 1: {
      const b = Buffer.from(input);
      const k = 1 + int(rnd, 8);
      for (let i = 0; i < k && n > 0; i++) {
        const j = int(rnd, n);
        b[j] = b[j]! ^ (1 << int(rnd, 8));
      }
      return [b, `flip×${k}`];
    }
    case 2: {
      const lb = lineBounds(input, rnd);
      if (!lb) return [input, 'noop'];
      const line = input.subarray(lb[0], lb[1]);
      const times = 1 + int(rnd, rnd() < 0.1 ? 200 : 3);
      return [Buffer.concat([input.subarray(0, lb[1]), ...Array(times).fill(line), input.subarray(lb[1])]), `dup-header×${times}`];
    }
    case 3: {
      const lb = lineBounds(input, rnd);
      if (!lb) return [input, 'noop'];
      const size = [100, 1000, 10_000, 70_000][int(rnd, 4)]!;
      const fill = Buffer.alloc(size, ['a', ';', ',', '"', ' ', '%'][int(rnd, 6)]!);
      const cut = lb[1] - 2 > lb[0] ? lb[1] - 2 : lb[1];
      return [Buffer.concat([input.subarray(0, cut), fill, input.subarray(cut)]), `huge-value ${size}`];
    }
    case 4: {
      const at = int(rnd, n + 1);
      const what = ['\r\n', '\r\n ', '\r\n\r\n', '\n', '\r'][int(rnd, 5)]!;
      return [Buffer.concat([input.subarray(0, at), Buffer.from(what), input.subarray(at)]), `crlf@${at}`];
    }
    case 5: {
      const a = int(rnd, n + 1);
      const b = Math.min(n, a + int(rnd, 64));
      return [Buffer.concat([input.subarray(0, a), input.subarray(b)]), `delete ${a}-${b}`];
    }
    case 6: {
      const at = int(rnd, n + 1);
      const tok = INTERESTING[int(rnd, INTERESTING.length)]!;
      return [Buffer.concat([input.subarray(0, at), Buffer.from(tok, 'latin1'), input.subarray(at)]), `insert ${JSON.stringify(tok)}@${at}`];
    }
    case 7: {
      const a = lineBounds(input, rnd);
      const b = lineBounds(input, rnd);
      if (!a || !b || a[0] === b[0]) return [input, 'noop'];
      const [x, y] = a[0] < b[0] ? [a, b] : [b, a];
      if (x[1] > y[0]) return [input, 'noop'];
      return [
        Buffer.concat([input.subarray(0, x[0]), input.subarray(y[0], y[1]), input.subarray(x[1], y[0]), input.subarray(x[0], x[1]), input.subarray(y[1])]),
        'swap-lines',
      ];
    }
    case 8: {
      const b = Buffer.from(input);
      for (let i = 0; i < b.length; i++) if (b[i]! >= 0x30 && b[i]! <= 0x39 && rnd() < 0.05) b[i] = 0x30 + int(rnd, 10);
      return [b, 'digits'];
    }
    case 9: {
      const other = corpus[int(rnd, corpus.length)]!;
      const a = int(rnd, n + 1);
      const b = int(rnd, other.length + 1);
      return [Buffer.concat([input.subarray(0, a), other.subarray(b)]), `splice ${a}/${b}`];
    }
    default: {
      const at = int(rnd, n + 1);
      const junk = Buffer.alloc(1 + int(rnd, 16));
      for (let i = 0; i < junk.length; i++) junk[i] = int(rnd, 256);
      return [Buffer.concat([input.subarray(0, at), junk, input.subarray(at)]), `random-bytes@${at}`];
    }
  }
}

export class FuzzFailure extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly iteration: number,
    readonly input: Buffer,
    readonly ops: string[],
    readonly error?: unknown,
  ) {
    super(`${message} (seed ${seed}, iteration ${iteration}, ops ${ops.join(' → ')}); input base64: ${input.toString('base64')}`);
    this.name = 'FuzzFailure';
  }
}

export interface FuzzStats {
  iterations: number;
  parsed: number;
  /** Rejections by status ('drop' when undefined). */
  rejected: Record<string, number>;
  framed: number;
}

export interface FuzzOptions {
  iterations: number;
  seed: number;
  corpus: readonly Buffer[];
  limits?: ParseLimits;
  onProgress?: (done: number, stats: FuzzStats) => void;
}

function onlyParseErrors(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof SipParseError) return;
    throw new Error(`${what} threw ${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}`);
  }
}

function comparable(m: SipMessage): string {
  return JSON.stringify([
    m.kind === 'request' ? [m.method, m.uri] : [m.status, m.reason],
    m.headers.list.filter((h) => h.name !== 'content-length').map((h) => [h.name, h.value]),
    m.body.toString('base64'),
  ]);
}

/** Checks one input against every property; throws a plain Error describing the first broken one. */
export function checkInput(buf: Buffer, limits: ParseLimits, rnd: Rnd, stats: FuzzStats): void {
  let msg: SipMessage | undefined;
  try {
    msg = parseMessage(buf, limits);
  } catch (err) {
    if (!(err instanceof SipParseError)) {
      throw new Error(`parseMessage threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    }
    const k = err.status === undefined ? 'drop' : String(err.status);
    stats.rejected[k] = (stats.rejected[k] ?? 0) + 1;
  }
  if (msg !== undefined) {
    stats.parsed++;
    // The parser validated these: the value parsers must accept them again.
    const h = msg.headers;
    for (const v of h.getAll('via')) parseVia(v);
    parseNameAddr(h.get('from')!);
    parseNameAddr(h.get('to')!);
    for (const c of h.getAll('contact')) parseContact(c);
    parseCSeq(h.get('cseq')!);
    if (msg.kind === 'request') parseUri(msg.uri);
    for (const a of h.getAll('authorization')) {
      onlyParseErrors('parseAuthHeader', () => parseAuthHeader(a));
      onlyParseErrors('parseDigestCredentials', () => parseDigestCredentials(a));
    }
    for (const r of [...h.getAll('route'), ...h.getAll('record-route')]) onlyParseErrors('parseContact', () => parseContact(r));
    const wire = serializeMessage(msg);
    let again: SipMessage;
    try {
      // The serializer adds a Content-Length where there was none (an RFC 2543 datagram), so the
      // copy may be one header field and a few bytes longer than what the limits let in.
      again = parseMessage(wire, { maxMessageBytes: Math.max(limits.maxMessageBytes, wire.length), maxHeaders: limits.maxHeaders + 1 });
    } catch (err) {
      throw new Error(`round trip failed: ${(err as Error).message}`);
    }
    if (comparable(again) !== comparable(msg)) throw new Error('round trip changed the message');
  }
  // Every value parser on one raw header value of the mutated bytes, whatever it holds. Only one
  // input in eight: nine failing parsers build nine errors, and stack capture under tap's source
  // maps costs more than the parsing itself.
  const lines = buf.toString('utf8', 0, Math.min(buf.length, 4096)).split('\n');
  if (rnd() < 0.125 && lines.length > 1) {
    const line = lines[1 + Math.floor(rnd() * (lines.length - 1))]!;
    const value = line.slice(line.indexOf(':') + 1, 1024).trim(); // huge values are the parser's job above
    onlyParseErrors('parseVia', () => parseVia(value));
    onlyParseErrors('parseNameAddr', () => parseNameAddr(value));
    onlyParseErrors('parseContact', () => parseContact(value));
    onlyParseErrors('parseCSeq', () => parseCSeq(value));
    onlyParseErrors('parseUri', () => parseUri(value));
    onlyParseErrors('parseAuthHeader', () => parseAuthHeader(value));
    onlyParseErrors('parseDigestCredentials', () => parseDigestCredentials(value));
    onlyParseErrors('parseDigestChallenge', () => parseDigestChallenge(value));
    onlyParseErrors('parseParamString', () => parseParamString(value));
  }
  // The same bytes as a TCP stream, in random chunks.
  const framer = new SipStreamFramer({ maxMessageBytes: limits.maxMessageBytes });
  onlyParseErrors('SipStreamFramer', () => {
    let pos = 0;
    while (pos < buf.length) {
      const len = 1 + Math.floor(rnd() * 512);
      for (const m of framer.push(buf.subarray(pos, pos + len))) {
        stats.framed++;
        onlyParseErrors('parseMessage(framed)', () => parseMessage(m, limits));
      }
      pos += len;
    }
  });
}

/** Runs the fuzz loop; throws FuzzFailure on the first broken property. */
export function runFuzz(opts: FuzzOptions): FuzzStats {
  if (opts.corpus.length === 0) throw new TypeError('empty corpus');
  const limits = opts.limits ?? DEFAULT_PARSE_LIMITS;
  const rnd = prng(opts.seed);
  const stats: FuzzStats = { iterations: 0, parsed: 0, rejected: {}, framed: 0 };
  for (let i = 0; i < opts.iterations; i++) {
    let buf = opts.corpus[Math.floor(rnd() * opts.corpus.length)]!;
    const ops: string[] = [];
    const rounds = 1 + Math.floor(rnd() * 3);
    for (let r = 0; r < rounds; r++) {
      const [next, op] = mutateOnce(buf, rnd, opts.corpus);
      buf = next;
      ops.push(op);
    }
    try {
      checkInput(buf, limits, rnd, stats);
    } catch (err) {
      throw new FuzzFailure((err as Error).message, opts.seed, i, buf, ops, err);
    }
    stats.iterations++;
    if (opts.onProgress && (i + 1) % 10_000 === 0) opts.onProgress(i + 1, stats);
  }
  return stats;
}
