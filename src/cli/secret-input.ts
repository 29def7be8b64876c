import { kalemError } from '../core/errors.js';

/**
 * Reads a secret value without it ever touching argv, the environment or the terminal echo:
 * from stdin when it is a pipe or file (`kalem secret set acme openai < key.txt`), or from a
 * prompt with echo off when stdin is a terminal. One trailing newline is removed.
 */
export async function readSecret(prompt: string): Promise<Uint8Array> {
  const stdin = process.stdin;
  const bytes = stdin.isTTY ? await promptNoEcho(prompt) : await readAll(stdin);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const value = new Uint8Array(bytes.subarray(0, end));
  bytes.fill(0);
  if (value.length === 0) throw kalemError('KALEM_ERR_SECRET_INPUT', 'no secret value on standard input; pipe it in or type it at the prompt');
  return value;
}

async function readAll(stream: NodeJS.ReadStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

function promptNoEcho(prompt: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    const chunks: number[] = [];
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (data: Buffer): void => {
      for (const b of data) {
        if (b === 0x0d || b === 0x0a) return finish();
        if (b === 0x03) return fail();
        if (b === 0x7f || b === 0x08) chunks.pop();
        else chunks.push(b);
      }
      data.fill(0);
    };
    const cleanup = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const finish = (): void => {
      cleanup();
      const out = Buffer.from(chunks);
      chunks.fill(0);
      resolve(out);
    };
    const fail = (): void => {
      cleanup();
      reject(kalemError('KALEM_ERR_SECRET_INPUT', 'cancelled'));
    };
    stdin.on('data', onData);
  });
}
