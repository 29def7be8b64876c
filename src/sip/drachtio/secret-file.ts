import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { kalemError } from '../../core/errors.js';

/**
 * Reads drachtio-server's admin secret from `sip.drachtio_secret_file`. The secret never appears
 * in an error message or a log line; only the path does. Like the master key, a secret file that
 * others can read is refused: whoever holds it can place and take calls through drachtio-server.
 *
 * KALEM_ERR_CONFIG_INVALID is the closest code the registry has today (the fix is always in the
 * config or on the file).
 */
export function readDrachtioSecret(path: string | null | undefined): string {
  if (!path) {
    throw kalemError(
      'KALEM_ERR_CONFIG_INVALID',
      'sip.engine = "drachtio" needs sip.drachtio_secret_file: a file (mode 0600) holding drachtio-server\'s admin secret',
    );
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw kalemError('KALEM_ERR_CONFIG_INVALID', `cannot read sip.drachtio_secret_file ${path} (${code})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw kalemError('KALEM_ERR_CONFIG_INVALID', `sip.drachtio_secret_file ${path} is not a regular file`);
    }
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw kalemError(
        'KALEM_ERR_CONFIG_INVALID',
        `sip.drachtio_secret_file ${path} has mode ${mode}; others must not read it: run \`chmod 600 ${path}\``,
      );
    }
    const secret = readFileSync(fd, 'utf8').replace(/[\r\n]+$/, '');
    if (secret === '') {
      throw kalemError('KALEM_ERR_CONFIG_INVALID', `sip.drachtio_secret_file ${path} is empty`);
    }
    // '|' separates fields of drachtio's wire protocol; a secret holding one could never match.
    if (/[|\r\n]/.test(secret)) {
      throw kalemError(
        'KALEM_ERR_CONFIG_INVALID',
        `sip.drachtio_secret_file ${path} holds a '|' or a line break, which drachtio's protocol cannot carry; use e.g. \`openssl rand -hex 32\``,
      );
    }
    return secret;
  } finally {
    closeSync(fd);
  }
}
