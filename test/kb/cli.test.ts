/**
 * `kalem kb …` through the built binary, against the OpenAI embeddings STAND-IN (in this process,
 * so the CLI is spawned asynchronously) and sqlite-vec for real.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KALEM_BIN, KalemSandbox, type CliResult } from '../helpers/kalem-cli.js';
import { OpenAIEmbeddingsStandIn } from '../stand-ins/openai-embeddings.js';
import { HOURS_MD, tinyPdf } from './helpers.js';

function run(k: KalemSandbox, args: string[], input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [KALEM_BIN, '-c', k.configPath, ...args], { env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input);
  });
}

t.test('kalem kb: create, add (four formats), list, docs, search, re-add, agent --kb, remove, delete, account delete', async (t) => {
  const key = 'sk-proj-PLANTEDkbcli0123456789abcdef';
  const emb = await OpenAIEmbeddingsStandIn.start({ apiKey: key });
  t.teardown(() => emb.close());
  const k = new KalemSandbox(`[kb]\nembeddings_base_url = "${emb.baseURL}"\nchunk_tokens = 120\n[log]\nlevel = "trace"\n`);
  t.teardown(() => k.cleanup());
  const outputs: string[] = [];
  const ok = async (args: string[], input = ''): Promise<CliResult> => {
    const r = await run(k, args, input);
    outputs.push(r.stdout, r.stderr);
    t.equal(r.code, 0, `kalem ${args.join(' ')}${r.code === 0 ? '' : `: ${r.stderr}`}`);
    return r;
  };
  const file = (name: string, content: string | Uint8Array): string => {
    const p = join(k.dir, name);
    writeFileSync(p, content);
    return p;
  };
  await ok(['keys', 'init']);
  await ok(['account', 'create', 'acme']);
  await ok(['secret', 'set', 'acme', 'openai'], key);
  await ok(['kb', 'create', 'acme', 'faq']);
  const files = [
    file('hours.md', HOURS_MD),
    file('menu.html', '<h1>Menu</h1><p>Our soup of the day costs 6 euros.</p>'),
    file('flyer.pdf', tinyPdf(['Emergency line', 'Call 555 0199 for emergencies at night.'])),
    file('notes.txt', 'Wheelchair access is through the side door.\n\nWe speak English and Dutch.'),
  ];
  const added = await ok(['kb', 'add', 'acme', 'faq', ...files]);
  t.match(added.stdout, /^hours\.md: added: 3 chunks, \d+ tokens$/m, 'one plain line per file when not on a terminal');
  t.match(added.stdout, /^flyer\.pdf: added: 1 chunks/m);
  t.equal(added.stderr, '', 'no progress bar without a terminal');

  const list = JSON.parse((await ok(['--json', 'kb', 'list', 'acme'])).stdout) as Array<{ name: string; documents: number; chunks: number }>;
  t.same(list.map((b) => [b.name, b.documents]), [['faq', 4]]);
  const docs = JSON.parse((await ok(['--json', 'kb', 'docs', 'acme', 'faq'])).stdout) as Array<{ name: string; format: string }>;
  t.same(docs.map((d) => [d.name, d.format]), [['flyer.pdf', 'pdf'], ['hours.md', 'markdown'], ['menu.html', 'html'], ['notes.txt', 'text']]);

  const search = await ok(['kb', 'search', 'acme', 'faq', 'When are you open?']);
  t.match(search.stdout.split('\n')[0], /^0\.\d{3}  hours\.md #\d+$/, 'score, source and chunk id first');
  t.match(search.stdout, /Opening hours\n {4}\n {4}We are open Monday to Friday/);
  const hits = JSON.parse((await ok(['--json', 'kb', 'search', 'acme', 'faq', 'emergencies at night', '-k', '1'])).stdout) as Array<{ source: string }>;
  t.same(hits.map((h) => h.source), ['flyer.pdf'], 'the PDF answers its question');

  const before = emb.inputsEmbedded;
  const again = await ok(['kb', 'add', 'acme', 'faq', ...files]);
  t.match(again.stdout, /hours\.md: unchanged, nothing embedded/);
  t.equal(emb.inputsEmbedded, before, 're-adding unchanged files embeds nothing');

  await ok(['agent', 'create', 'acme', 'bot', '--kb', 'faq']);
  const shown = JSON.parse((await ok(['--json', 'agent', 'show', 'acme', 'bot'])).stdout) as { knowledgeBases: string[] };
  t.same(shown.knowledgeBases, ['faq']);
  const bad = await run(k, ['agent', 'update', 'acme', 'bot', '--kb', 'nope']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /no knowledge base nope in account acme/);
  const badCreate = await run(k, ['agent', 'create', 'acme', 'bot2', '--kb', 'nope']);
  t.equal(badCreate.code, 1);
  t.match(badCreate.stderr, /no knowledge base nope/, 'a wrong --kb is refused before the agent is created (the audit below has no agent.create for bot2)');

  const unsupported = await run(k, ['kb', 'add', 'acme', 'faq', file('x.docx', 'zz')]);
  t.equal(unsupported.code, 2, 'an unsupported format is a usage error');
  t.match(unsupported.stderr, /x\.docx: unsupported file type/);

  await ok(['kb', 'remove', 'acme', 'faq', 'menu.html']);
  const noYes = await run(k, ['kb', 'delete', 'acme', 'faq']);
  t.equal(noYes.code, 2);
  t.match(noYes.stderr, /add --yes/);
  await ok(['kb', 'delete', 'acme', 'faq', '--yes']);
  const audit = JSON.parse((await ok(['--json', 'audit', 'list', '--account', 'acme'])).stdout) as Array<{ action: string; details: { name?: string } }>;
  for (const action of ['kb.create', 'kb.document.add', 'kb.search', 'agent.kb', 'kb.document.remove', 'kb.delete']) t.ok(audit.some((a) => a.action === action), `audited: ${action}`);
  t.ok(audit.some((a) => a.action === 'agent.create' && a.details.name === 'bot'), 'bot was created');
  t.notOk(audit.some((a) => a.action === 'agent.create' && a.details.name === 'bot2'), 'bot2 was not');
  await ok(['account', 'delete', 'acme', '--yes']);
  const db = new Database(k.dbPath, { readonly: true });
  const vecTables = db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'kb_vec_%'").all();
  const rows = (db.prepare('SELECT count(*) AS n FROM kb_chunks').get() as { n: number }).n;
  db.close();
  t.same(vecTables, [], 'deleting the account dropped its vector table');
  t.equal(rows, 0);

  const all = outputs.join('\n');
  t.notOk(all.includes(key), 'the planted key appears in no output or log line');
  const dbFiles = readdirSync(join(k.dir, 'var')).map((n) => readFileSync(join(k.dir, 'var', n)).toString('latin1')).join('');
  t.notOk(dbFiles.includes(key), 'nor in the database files');
  t.same(emb.violations, []);
});

