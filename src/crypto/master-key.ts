import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { kalemError } from '../core/errors.js';

export const MASTER_KEY_BYTES = 32;

export interface MasterKeySource {
  /** `[keys] master_key_file`. */
  file: string;
  /** `$CREDENTIALS_DIRECTORY` (systemd LoadCredential=); wins over `file` when it holds master.key. */
  credentialsDirectory?: string | undefined;
}

/** Where the master key will be read from, for messages and `kalem doctor`. */
export function masterKeyPath(src: MasterKeySource): { path: string; viaCredentials: boolean } {
  if (src.credentialsDirectory) {
    return { path: join(src.credentialsDirectory, 'master.key'), viaCredentials: true };
  }
  return { path: src.file, viaCredentials: false };
}

/**
 * Reads the 32-byte master key. A file given in config must be a regular file, mode 0600 or
 * stricter, owned by the running user: a key others can read is not a secret. systemd's
 * credentials directory is already private to the service, so only the length is checked there.
 * The returned buffer is the caller's to wipe.
 */
export function readMasterKey(src: MasterKeySource): Buffer {
  const { path, viaCredentials } = masterKeyPath(src);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw kalemError('KALEM_ERR_MASTER_KEY_MISSING', path);
    if (code === 'ELOOP') throw kalemError('KALEM_ERR_MASTER_KEY_UNSAFE', path, 'it is a symbolic link');
    throw kalemError('KALEM_ERR_MASTER_KEY_UNSAFE', path, `cannot open it (${code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw kalemError('KALEM_ERR_MASTER_KEY_UNSAFE', path, 'it is not a regular file');
    if (!viaCredentials) {
      if ((st.mode & 0o077) !== 0) {
        throw kalemError(
          'KALEM_ERR_MASTER_KEY_UNSAFE',
          path,
          `its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}; run \`chmod 600 ${path}\``,
        );
      }
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) {
        throw kalemError('KALEM_ERR_MASTER_KEY_UNSAFE', path, `it is owned by uid ${st.uid}, not by the running user (uid ${uid})`);
      }
    }
    return decodeMasterKey(readFileSync(fd), path);
  } finally {
    closeSync(fd);
  }
}

/** Accepts 32 raw bytes, or their base64 form on one line (what `kalem keys init` writes). */
function decodeMasterKey(bytes: Buffer, path: string): Buffer {
  if (bytes.length === MASTER_KEY_BYTES) return bytes;
  const text = bytes.toString('latin1').trim();
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    bytes.fill(0);
    if (key.length === MASTER_KEY_BYTES) return key;
  }
  bytes.fill(0);
  throw kalemError('KALEM_ERR_MASTER_KEY_INVALID', path, `expected ${MASTER_KEY_BYTES} bytes, raw or base64`);
}

/**
 * Creates a new random master key file, mode 0600, refusing to overwrite an existing file
 * (O_EXCL): overwriting the only copy of a master key would make every sealed secret unreadable.
 */
export function createMasterKeyFile(path: string): void {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw kalemError('KALEM_ERR_MASTER_KEY_EXISTS', path);
    throw kalemError('KALEM_ERR_MASTER_KEY_UNSAFE', path, `cannot create it (${code ?? 'error'})`);
  }
  const key = randomBytes(MASTER_KEY_BYTES);
  try {
    writeSync(fd, key.toString('base64') + '\n');
  } finally {
    key.fill(0);
    closeSync(fd);
  }
}
