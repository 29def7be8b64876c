import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { kalemError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Account } from '../tenancy/model.js';
import type { ContentVault, StoredRecording, TenantStore } from '../tenancy/ports.js';
import type { RecordingFileRemover } from './erasure-service.js';

/** The secretstream reader (crypto/secretstream.ts), as this service needs it. */
export interface StreamReader {
  readonly magic: Uint8Array;
  readonly headerBytes: number;
  readonly lengthBytes: number;
  openPull(key: Uint8Array, header: Uint8Array, ad: Uint8Array): { pull(chunk: Uint8Array): { ok: true; plain: Uint8Array; final: boolean } | { ok: false } } | null;
  ad(accountId: string, callId: string): Uint8Array;
}

export interface RecordingReadResult {
  readonly accountId: string;
  readonly account: string;
  readonly callId: string;
  readonly out: string;
  /** WAV bytes written. */
  readonly bytes: number;
  readonly seconds: number;
  /** The recording's own status (a failed one decrypts up to where it stopped). */
  readonly status: string;
}

/** Largest chunk a writer produces is well under this; anything bigger is a damaged length. */
const MAX_CHUNK = 16 * 1024 * 1024;

/**
 * Recording files: erasing them (the key row goes in the transaction, the file is unlinked) and
 * decrypting one for an operator (`kalem calls recording`), audited.
 */
export class RecordingService implements RecordingFileRemover {
  constructor(
    private readonly store: TenantStore,
    private readonly vault: ContentVault,
    private readonly streams: StreamReader,
    private readonly clock: Clock,
    private readonly actor: string,
    /** The recordings directory (files are named relative to it). */
    private readonly dir: string,
    /** How files are removed: at once in a command, later (async) in the daemon. */
    private readonly unlink: (path: string) => void,
  ) {}

  eraseRecordings(accountId: string, callIds: readonly string[]): number {
    const files = this.store.recordings.delete(accountId, callIds);
    for (const f of files) this.unlink(join(this.dir, f));
    return files.length;
  }

  sweepRecordings(accountId: string, before: string, limit: number): number {
    return this.eraseRecordings(accountId, this.store.recordings.createdBefore(accountId, before, limit));
  }

  /**
   * Decrypts a call's recording to `out` (created new, mode 0600), chunk by chunk, then fills in
   * the WAV sizes. A chunk that does not authenticate (tampered, reordered, another call's file)
   * or a file that ends before the final chunk is reported as such and the output removed.
   */
  async decryptTo(accountRef: string, callId: string, out: string): Promise<RecordingReadResult> {
    const { a, rec, key, input } = await this.openRecording(accountRef, callId);
    let output;
    try {
      output = await open(out, 'wx', 0o600);
    } catch (err) {
      await input.close();
      this.vault.wipe(key);
      const code = (err as NodeJS.ErrnoException).code;
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', code === 'EEXIST' ? `${out} already exists; give a new file name` : `cannot create ${out}: ${code ?? 'error'}`);
    }
    let bytes = 0;
    let rate = 0;
    let ok = false;
    try {
      const reader = new RecordingFileReader(input, this.streams, callId, a.name);
      await reader.openHeader(key, a.id);
      for (;;) {
        const r = await reader.next();
        if (bytes === 0 && r.plain.length >= 44) rate = new DataView(r.plain.buffer, r.plain.byteOffset, r.plain.byteLength).getUint32(24, true);
        await output.write(r.plain);
        bytes += r.plain.length;
        this.vault.wipe(r.plain);
        if (r.final) break;
      }
      // The sizes the writer could not know: RIFF chunk size and data size.
      const sizes = Buffer.alloc(4);
      sizes.writeUInt32LE(Math.max(0, bytes - 8), 0);
      await output.write(sizes, 0, 4, 4);
      sizes.writeUInt32LE(Math.max(0, bytes - 44), 0);
      await output.write(sizes, 0, 4, 40);
      ok = true;
    } finally {
      this.vault.wipe(key);
      await input.close();
      await output.close();
      if (!ok) await rm(out, { force: true });
    }
    this.store.transaction(() =>
      this.store.audit.append({
        at: new Date(this.clock.now()).toISOString(),
        actor: this.actor,
        accountId: a.id,
        action: 'call.recording.read',
        target: callId,
        details: { bytes },
      }),
    );
    const seconds = rate > 0 ? Math.round(((bytes - 44) / (rate * 4)) * 10) / 10 : 0;
    return { accountId: a.id, account: a.name, callId, out, bytes, seconds, status: rec.status };
  }

  /**
   * A call's recording as a stream of WAV bytes, for the admin API's download (added beside
   * decryptTo, which writes a file for the CLI). The same checks, chunk by chunk; everything that
   * can be refused (no recording, a key or stream header that does not open) is refused before
   * the first byte. The WAV's RIFF and data sizes are only known after the last chunk, so they are
   * sent as 0xFFFFFFFF, the convention for streamed WAV. The read is audited when the stream
   * opens: an access counts even if the client stops early. A chunk that does not authenticate
   * ends the stream with an error (the connection is cut; nothing unauthenticated is sent).
   */
  async openStream(accountRef: string, callId: string): Promise<{ accountId: string; callId: string; status: string; chunks: AsyncGenerator<Uint8Array> }> {
    const { a, rec, key, input } = await this.openRecording(accountRef, callId);
    const reader = new RecordingFileReader(input, this.streams, callId, a.name);
    try {
      await reader.openHeader(key, a.id);
      this.store.transaction(() =>
        this.store.audit.append({
          at: new Date(this.clock.now()).toISOString(),
          actor: this.actor,
          accountId: a.id,
          action: 'call.recording.read',
          target: callId,
          details: { streamed: true },
        }),
      );
    } catch (err) {
      this.vault.wipe(key);
      await input.close();
      throw err;
    }
    const vault = this.vault;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let first = true;
      try {
        for (;;) {
          const r = await reader.next();
          const out = Buffer.from(r.plain);
          vault.wipe(r.plain);
          if (first && out.length >= 44) {
            out.writeUInt32LE(0xffffffff, 4);
            out.writeUInt32LE(0xffffffff, 40);
          }
          first = false;
          yield out;
          if (r.final) return;
        }
      } finally {
        vault.wipe(key);
        await input.close();
      }
    }
    return { accountId: a.id, callId, status: rec.status, chunks: chunks() };
  }

  /** The call's recording row, its data key (unwrapped) and its file opened; or why not. */
  private async openRecording(accountRef: string, callId: string): Promise<{ a: Account; rec: StoredRecording; key: Uint8Array; input: FileHandle }> {
    const a = this.store.accounts.get(accountRef) ?? this.store.accounts.findByName(accountRef);
    if (!a) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', accountRef);
    if (!this.store.calls.get(a.id, callId)) throw kalemError('KALEM_ERR_UNKNOWN_CALL', callId, a.name);
    const rec = this.store.recordings.get(a.id, callId);
    const wrappedAccountKey = this.store.accounts.wrappedKey(a.id);
    if (!rec || !wrappedAccountKey) throw kalemError('KALEM_ERR_NO_RECORDING', callId, a.name);
    const key = this.vault.unwrapDataKey(a.id, wrappedAccountKey, callId, 'recording', rec.wrappedKey);
    if (key === null) throw kalemError('KALEM_ERR_RECORDING_TAMPERED', callId, a.name);
    let input: FileHandle;
    try {
      input = await open(join(this.dir, rec.file), 'r');
    } catch (err) {
      this.vault.wipe(key);
      throw kalemError('KALEM_ERR_RECORDING_TRUNCATED', callId, a.name, `its file cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return { a, rec, key, input };
  }
}

/**
 * Reads one encrypted recording file for decryptTo and openStream: the magic and secretstream
 * header, then length-prefixed chunks. A file that ends early is truncated; anything that does
 * not authenticate (or a length no writer produces) is tampered.
 */
class RecordingFileReader {
  private pull: NonNullable<ReturnType<StreamReader['openPull']>> | undefined;
  /** Plain bytes returned so far (for the truncation message). */
  private bytes = 0;

  constructor(
    private readonly input: FileHandle,
    private readonly s: StreamReader,
    private readonly callId: string,
    private readonly account: string,
  ) {}

  async openHeader(key: Uint8Array, accountId: string): Promise<void> {
    const s = this.s;
    const pre = await this.readExactly(s.magic.length + s.headerBytes);
    if (pre === null || pre.length < s.magic.length + s.headerBytes) throw kalemError('KALEM_ERR_RECORDING_TRUNCATED', this.callId, this.account, 'no stream header');
    if (!s.magic.every((b, i) => pre[i] === b)) throw kalemError('KALEM_ERR_RECORDING_TAMPERED', this.callId, this.account);
    const pull = s.openPull(key, pre.subarray(s.magic.length), s.ad(accountId, this.callId));
    if (pull === null) throw kalemError('KALEM_ERR_RECORDING_TAMPERED', this.callId, this.account);
    this.pull = pull;
  }

  /** The next chunk's plaintext (the caller wipes it) and whether it was the last. */
  async next(): Promise<{ plain: Uint8Array; final: boolean }> {
    const truncated = () => kalemError('KALEM_ERR_RECORDING_TRUNCATED', this.callId, this.account, `after ${this.bytes} bytes of audio`);
    const len = await this.readExactly(this.s.lengthBytes);
    if (len === null || len.length < this.s.lengthBytes) throw truncated();
    const n = new DataView(len.buffer, len.byteOffset, len.byteLength).getUint32(0, false);
    if (n > MAX_CHUNK) throw kalemError('KALEM_ERR_RECORDING_TAMPERED', this.callId, this.account);
    const chunk = await this.readExactly(n);
    if (chunk === null || chunk.length < n) throw truncated();
    const r = this.pull!.pull(chunk);
    if (!r.ok) throw kalemError('KALEM_ERR_RECORDING_TAMPERED', this.callId, this.account);
    this.bytes += r.plain.length;
    return { plain: r.plain, final: r.final };
  }

  /** Exactly n bytes; fewer only where the file ends (null: nothing left). */
  private async readExactly(n: number): Promise<Uint8Array | null> {
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.input.read(buf, got, n - got, null);
      if (bytesRead === 0) return got === 0 ? null : buf.subarray(0, got);
      got += bytesRead;
    }
    return buf;
  }
}
