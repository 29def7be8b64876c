import t from 'tap';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KalemSandbox } from '../helpers/kalem-cli.js';

/**
 * A planted secret: distinctive values go in through stdin; every CLI command then runs, and the
 * values must appear in no stdout, no stderr, no log line, and no byte of the database files.
 */
const OPENAI_KEY = 'sk-PLANTED-openai-7f3a9c1e5b2d4f6a8c0e';
const TRUNK_PASSWORD = 'PLANTED-digest-pw-91b2c3d4';
const ROTATED_KEY = 'sk-PLANTED-rotated-0a1b2c3d4e5f';

t.test('planted secrets never leave their sealed form', async (t) => {
  const k = new KalemSandbox('[log]\nlevel = "trace"\n');
  t.teardown(() => k.cleanup());
  const outputs: string[] = [];
  const run = (args: string[], input?: string): void => {
    const r = k.run(args, input);
    outputs.push(`$ kalem ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  };

  run(['keys', 'init']);
  run(['account', 'create', 'acme']);
  run(['agent', 'create', 'acme', 'bot']);
  run(['secret', 'set', 'acme', 'openai'], OPENAI_KEY + '\n');
  run(['trunk', 'add', 'acme', 'carrier', '--cidr', '192.0.2.0/24', '--digest-username', 'acme-trunk'], TRUNK_PASSWORD);
  run(['number', 'add', 'acme', 'bot', '+14155550100']);
  // Mistakes with the secret in play must not echo it either.
  run(['secret', 'set', 'acme', 'openai'], OPENAI_KEY);
  run(['secret', 'set', 'nobody', 'openai'], OPENAI_KEY);
  run(['secret', 'set', 'acme', 'BAD NAME'], OPENAI_KEY);
  for (const json of [[], ['--json']]) {
    for (const args of [
      ['account', 'list'], ['account', 'show', 'acme'], ['agent', 'list', 'acme'], ['agent', 'show', 'acme', 'bot'],
      ['number', 'list', 'acme'], ['trunk', 'list', 'acme'], ['secret', 'list', 'acme'], ['audit', 'list'], ['db', 'check'], ['config', 'check'],
    ]) {
      run([...json, ...args]);
    }
  }
  run(['secret', 'rotate', 'acme', 'openai'], ROTATED_KEY);
  run(['db', 'migrate']);
  run(['account', 'update', 'acme', '--max-calls', '3']);
  run(['agent', 'update', 'acme', 'bot', '--voice', 'cedar']);

  // The daemon's log output too (trace level, everything it logs at start and stop).
  const serve = k.spawn(['serve']);
  const lines: string[] = [];
  const rl = createInterface({ input: serve.stdout! });
  rl.on('line', (l) => lines.push(l));
  let stderr = '';
  serve.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve) => rl.on('line', (l) => l.includes('kalem started') && resolve()));
  serve.kill('SIGTERM');
  const [code] = await once(serve, 'exit');
  t.equal(code, 0, 'serve exits 0 on SIGTERM');
  outputs.push(lines.join('\n'), stderr);

  const all = outputs.join('\n');
  t.match(all, /stored openai version 1/, 'the commands did run');
  t.match(all, /rotated openai to version 2/);
  for (const secret of [OPENAI_KEY, TRUNK_PASSWORD, ROTATED_KEY]) {
    t.notOk(all.includes(secret), `${secret.slice(0, 12)}… absent from every output and log`);
    const dbDir = join(k.dir, 'var');
    for (const f of readdirSync(dbDir)) {
      const bytes = readFileSync(join(dbDir, f));
      t.notOk(bytes.includes(secret), `${secret.slice(0, 12)}… absent from ${f}`);
      t.notOk(bytes.includes(Buffer.from(secret, 'utf16le')), `${secret.slice(0, 12)}… absent from ${f} (UTF-16)`);
    }
  }
});
