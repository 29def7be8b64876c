import { unlinkSync } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { RecordingWriter } from '../calls/recording-writer.js';
import type { CallRecordingStarter } from '../calls/call-session.js';
import { objectAd } from '../crypto/keyring.js';
import { CHUNK_LENGTH_BYTES, STREAM_MAGIC, openPullStream, openPushStream } from '../crypto/secretstream.js';
import type { Sodium } from '../crypto/sodium.js';
import { createCodec } from '../media/codecs/create-codec.js';
import { RecordingService, type StreamReader } from '../privacy/recording-service.js';
import type { ProvisioningApp } from './open-app.js';
import type { TenantStore } from '../tenancy/ports.js';

/** The call path's write queue (app/call-path-store.ts), as recordings use it. */
export interface QueuedWrites {
  write(label: string, run: (store: TenantStore) => void): void;
}

/** Recordings live beside the database: `<dir of store.path>/recordings/<account>/<call>.krec`. */
export function recordingsDir(storePath: string): string {
  return join(dirname(storePath), 'recordings');
}

/** Recording PCM rate: G.711 is 8 kHz; G.722 and Opus are recorded at 16 kHz. */
const OPUS_RECORDING_RATE = 16_000;

/**
 * Starts a call's recording (the daemon's side): a fresh data key wrapped into a new
 * call_recordings row, a new file (mode 0600, opened with O_EXCL), a secretstream under the key,
 * two decoders. Anything that fails here means no recording, logged; never a failed call.
 */
export function recordingStarter(app: ProvisioningApp, sodium: Sodium, log: Logger, writes?: QueuedWrites): CallRecordingStarter {
  // The row goes through the call path's write queue (behind the call's CDR insert) when there is one.
  const write = (label: string, run: (store: TenantStore) => void): void => (writes ? writes.write(label, run) : run(app.store));
  const dir = recordingsDir(app.config.store.path);
  return async ({ accountId, callId, codec }) => {
    const file = `${accountId}/${callId}.krec`;
    const path = join(dir, file);
    let fh;
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      fh = await open(path, 'wx', 0o600);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      log.warn({ callId, err: why }, 'recording not started: cannot create its file');
      return { failure: `cannot create its file (${why})` };
    }
    let dataKey: { key: Uint8Array; wrapped: Uint8Array } | undefined;
    try {
      const wrappedAccountKey = app.store.accounts.wrappedKey(accountId);
      if (!wrappedAccountKey) throw new Error('account has no key');
      dataKey = app.keyring.newDataKey(accountId, wrappedAccountKey, callId, 'recording');
      const row = { accountId, callId, wrappedKey: dataKey.wrapped, file, createdAt: new Date(app.clock.now()).toISOString() };
      write(`recording.insert ${callId}`, (store) => store.recordings.insert(row));
      const cipher = openPushStream(sodium, dataKey.key, objectAd(accountId, callId, 'recording'));
      const opus = { sampleRate: OPUS_RECORDING_RATE };
      const callerCodec = createCodec(codec.name, opus);
      const agentCodec = createCodec(codec.name, opus);
      const handle = fh;
      const writer = new RecordingWriter({
        rate: callerCodec.sampleRate,
        clockRate: codec.clockRate,
        payloadType: codec.payloadType,
        decodeCaller: (p) => callerCodec.decode(p),
        decodeAgent: (p) => agentCodec.decode(p),
        destroyDecoders: () => {
          callerCodec.destroy();
          agentCodec.destroy();
        },
        cipher,
        output: {
          write: async (b) => {
            await handle.write(b);
          },
          close: () => handle.close(),
        },
        onEnd: (s) => {
          try {
            write(`recording.finish ${callId}`, (store) => store.recordings.finish(accountId, callId, s.status === 'failed' ? 'failed' : 'complete', s.failure, s.bytes));
          } catch (err) {
            log.error({ callId, err: (err as Error).message }, 'recording row not updated');
          }
          if (s.status === 'failed') log.warn({ callId, failure: s.failure, bytes: s.bytes }, 'recording stopped; the call went on');
        },
      });
      return { writer };
    } catch (err) {
      log.warn({ callId, err: (err as Error).message }, 'recording not started');
      await fh.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      return { failure: (err as Error).message };
    } finally {
      if (dataKey) app.keyring.wipe(dataKey.key);
    }
  };
}

/** How a recording file is read back: the format RecordingWriter writes, under the call's data key. */
export function recordingStreamReader(sodium: Sodium): StreamReader {
  return {
    magic: STREAM_MAGIC,
    headerBytes: sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES,
    lengthBytes: CHUNK_LENGTH_BYTES,
    openPull: (key, header, ad) => openPullStream(sodium, key, header, ad),
    ad: (accountId, callId) => objectAd(accountId, callId, 'recording'),
  };
}

/** The operator's side (erasure, retention, `kalem calls recording`); `unlinkNow` for commands, async for the daemon. */
export function recordingService(app: Pick<ProvisioningApp, 'store' | 'keyring' | 'config' | 'clock'>, sodium: Sodium, actor: string, unlinkNow: boolean, log?: Logger): RecordingService {
  const dir = recordingsDir(app.config.store.path);
  return new RecordingService(
    app.store,
    app.keyring,
    recordingStreamReader(sodium),
    app.clock,
    actor,
    dir,
    unlinkNow
      ? unlinkFileNow
      : (path) =>
          void unlink(path).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') log?.warn({ err: err.code ?? err.message }, 'recording file not removed (its key is destroyed)');
          }),
  );
}

/** A command, not the daemon: a synchronous unlink is fine. A file that cannot be removed is left: its key is gone. */
function unlinkFileNow(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // ENOENT (already gone) or a permission problem: the key row is deleted either way.
  }
}
