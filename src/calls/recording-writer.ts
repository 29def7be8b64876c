/**
 * One call's recording: both directions as stereo PCM16 WAV (caller left, agent right),
 * encrypted chunk by chunk with secretstream as it is written, so the audio is never whole in
 * memory and never in clear on disk.
 *
 * A small part owned by the call (closed by its close cascade), fed through a narrow tap on the
 * RTP endpoint: what the caller sent (after reordering) and what left for the caller. Writes go
 * through an async file handle behind a bounded queue: a slow or full disk, or any write error,
 * stops the recording (status "failed", with the reason), never the call.
 *
 * Alignment: each channel is placed on one timeline by the monotonic time its audio arrived or
 * left; a channel that is silent (the agent between turns) is padded with silence up to a short
 * slack behind the other, so the two stay in step and neither queue grows.
 */
import type { InboundFrame, RtpTap } from '../media/rtp-endpoint.js';

export interface RecordingOutput {
  /** Appends bytes to the file; rejects on a write error (ENOSPC, EIO…). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A secretstream push state under the recording's data key (crypto/secretstream.ts). */
export interface RecordingCipher {
  readonly preamble: Uint8Array;
  push(plain: Uint8Array, final: boolean): Uint8Array;
  destroy(): void;
}

export interface RecordingSummary {
  readonly status: 'recording' | 'complete' | 'failed';
  /** Encrypted bytes written to the file. */
  readonly bytes: number;
  /** Seconds of stereo audio recorded. */
  readonly seconds: number;
  readonly failure: string | null;
}

export interface RecordingWriterOptions {
  /** PCM rate of both decoders. */
  readonly rate: number;
  /** The negotiated codec's RTP clock rate (silence frames count in it). */
  readonly clockRate: number;
  readonly decodeCaller: (payload: Uint8Array) => Int16Array;
  readonly decodeAgent: (payload: Uint8Array) => Int16Array;
  /** The negotiated audio payload type (DTMF events that leave are not audio). */
  readonly payloadType: number;
  readonly cipher: RecordingCipher;
  readonly output: RecordingOutput;
  /** Called once, when the file is closed (or the recording failed and stopped). */
  readonly onEnd: (summary: RecordingSummary) => void;
  /** Plaintext per encrypted chunk. Default 500 ms of stereo audio. */
  readonly chunkMs?: number;
  /** Encrypted bytes waiting for the disk before the recording gives up. Default 1 MiB. */
  readonly maxPendingBytes?: number;
  /** How far behind the other a silent channel may lag before it is padded. Default 120 ms. */
  readonly slackMs?: number;
  /** Frees the decoders (called once at the end). */
  readonly destroyDecoders?: () => void;
}

const FRAME_MS = 20;

class Channel {
  pos = 0;
  private readonly parts: Int16Array[] = [];
  private head = 0;

  append(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.parts.push(pcm);
    this.pos += pcm.length;
  }

  silence(n: number): void {
    if (n > 0) this.append(new Int16Array(n));
  }

  /** Takes `n` samples (which must be queued) into `out` at every second index from `offset`. */
  takeInto(out: Int16Array, offset: number, n: number): void {
    let i = 0;
    while (i < n) {
      const part = this.parts[0]!;
      const take = Math.min(n - i, part.length - this.head);
      for (let k = 0; k < take; k++) out[offset + 2 * (i + k)] = part[this.head + k]!;
      i += take;
      this.head += take;
      if (this.head === part.length) {
        this.parts.shift();
        this.head = 0;
      }
    }
  }

  clear(): void {
    this.parts.length = 0;
    this.head = 0;
  }
}

export class RecordingWriter implements RtpTap {
  private state: RecordingSummary['status'] = 'recording';
  private failure: string | null = null;
  private readonly left = new Channel();
  private readonly right = new Channel();
  private emitted = 0;
  private t0: number | null = null;
  private pending: Int16Array[] = [];
  private pendingSamples = 0;
  private queuedBytes = 0;
  private writtenBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private closing: Promise<RecordingSummary> | undefined;
  private readonly chunkSamples: number;
  private readonly slack: number;
  private readonly maxPending: number;

  constructor(private readonly o: RecordingWriterOptions) {
    this.chunkSamples = Math.round((o.rate * (o.chunkMs ?? 500)) / 1000);
    this.slack = Math.round((o.rate * (o.slackMs ?? 120)) / 1000);
    this.maxPending = o.maxPendingBytes ?? 1024 * 1024;
    this.enqueue(o.cipher.preamble);
    // The WAV header goes in the first chunk; its sizes are filled in when the file is decrypted.
    this.enqueue(o.cipher.push(wavHeader(o.rate), false));
  }

  /** The caller's audio, as the endpoint delivers it (after reordering; silence for lost stretches). */
  inbound(frame: InboundFrame): void {
    if (this.state !== 'recording') return;
    try {
      const pcm =
        frame.payload === null
          ? new Int16Array(Math.round(((frame.samples ?? (this.o.clockRate * FRAME_MS) / 1000) * this.o.rate) / this.o.clockRate))
          : this.o.decodeCaller(frame.payload);
      this.place(this.left, this.right, pcm, frame.arrivalMs);
    } catch (err) {
      this.fail(`caller audio could not be decoded: ${(err as Error).message}`);
    }
  }

  /** A packet that left for the caller (the agent's voice, or a prompt), placed at its slot's due time. */
  outbound(payloadType: number, payload: Uint8Array, dueMs: number): void {
    if (this.state !== 'recording' || payloadType !== this.o.payloadType) return;
    try {
      this.place(this.right, this.left, this.o.decodeAgent(payload), dueMs);
    } catch (err) {
      this.fail(`agent audio could not be decoded: ${(err as Error).message}`);
    }
  }

  summary(): RecordingSummary {
    return { status: this.state, bytes: this.writtenBytes, seconds: Math.round((this.emitted / this.o.rate) * 10) / 10, failure: this.failure };
  }

  /** Flushes, writes the final chunk, closes the file and wipes the stream state. Idempotent. */
  close(): Promise<RecordingSummary> {
    this.closing ??= (async () => {
      if (this.state === 'recording') {
        // Whatever one channel has beyond the other is padded, so the last words are kept.
        const end = Math.max(this.left.pos, this.right.pos);
        this.left.silence(end - this.left.pos);
        this.right.silence(end - this.right.pos);
        this.emit(true);
      }
      await this.chain;
      try {
        await this.o.output.close();
      } catch (err) {
        if (this.state === 'recording') this.fail(errorText(err));
      }
      this.o.cipher.destroy();
      this.o.destroyDecoders?.();
      if (this.state === 'recording') this.state = 'complete';
      const s = this.summary();
      this.o.onEnd(s);
      return s;
    })();
    return this.closing;
  }

  private place(own: Channel, other: Channel, pcm: Int16Array, atMs: number): void {
    const rate = this.o.rate;
    this.t0 ??= atMs - (pcm.length * 1000) / rate;
    const endPos = Math.round(((atMs - this.t0) * rate) / 1000);
    const startPos = endPos - pcm.length;
    // A gap in this channel (the agent was quiet, packets were lost): silence up to where it resumes.
    if (startPos > own.pos) own.silence(startPos - own.pos);
    own.append(pcm);
    // The other channel must not hold the output back while it is quiet.
    const floor = own.pos - this.slack;
    if (other.pos < floor) other.silence(floor - other.pos);
    this.emit(false);
  }

  /** Interleaves what both channels have, and seals full chunks (all of it when `final`). */
  private emit(final: boolean): void {
    const n = Math.min(this.left.pos, this.right.pos) - this.emitted;
    if (n > 0) {
      const out = new Int16Array(2 * n);
      this.left.takeInto(out, 0, n);
      this.right.takeInto(out, 1, n);
      this.emitted += n;
      this.pending.push(out);
      this.pendingSamples += n;
    }
    while (this.pendingSamples >= this.chunkSamples || (final && this.state === 'recording')) {
      const take = final ? this.pendingSamples : this.chunkSamples;
      const plain = this.takePending(take);
      const last = final && this.pendingSamples === 0;
      this.enqueue(this.o.cipher.push(new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength), last));
      if (last || this.state !== 'recording') break;
    }
  }

  private takePending(samples: number): Int16Array {
    const out = new Int16Array(2 * samples);
    let off = 0;
    while (off < out.length) {
      const part = this.pending[0]!;
      const take = Math.min(out.length - off, part.length);
      out.set(part.subarray(0, take), off);
      off += take;
      if (take === part.length) this.pending.shift();
      else this.pending[0] = part.subarray(take);
    }
    this.pendingSamples -= samples;
    return out;
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.state !== 'recording') return;
    if (this.queuedBytes + bytes.length > this.maxPending) {
      this.fail(`the disk did not keep up (${this.queuedBytes} bytes waiting)`);
      return;
    }
    this.queuedBytes += bytes.length;
    this.chain = this.chain.then(async () => {
      if (this.state === 'failed') return;
      try {
        await this.o.output.write(bytes);
        this.writtenBytes += bytes.length;
      } catch (err) {
        this.fail(errorText(err));
      } finally {
        this.queuedBytes -= bytes.length;
      }
    });
  }

  private fail(reason: string): void {
    if (this.state !== 'recording') return;
    this.state = 'failed';
    this.failure = reason;
    this.left.clear();
    this.right.clear();
    this.pending = [];
    this.pendingSamples = 0;
  }
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message}` : e.message;
}

/** A 44-byte PCM16 stereo WAV header with the sizes left 0 (filled in on decryption). */
export function wavHeader(rate: number): Uint8Array {
  const b = new Uint8Array(44);
  const v = new DataView(b.buffer);
  const ascii = (off: number, s: string): void => {
    for (let i = 0; i < s.length; i++) b[off + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 0, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 2, true); // stereo: caller left, agent right
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, 0, true);
  return b;
}
