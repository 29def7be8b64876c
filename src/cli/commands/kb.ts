import { Command, InvalidArgumentError, Option } from '../commander.js';
import type { SingleBar } from 'cli-progress';
import type { ProvisioningApp } from '../../app/open-app.js';
import { kalemError } from '../../core/errors.js';
import type { IngestProgress, KnowledgeService } from '../../kb/knowledge-service.js';
import type { KnowledgeApp } from '../../app/knowledge.js';
import type { VectorBackend } from '../../kb/vector-store.js';
import { globals, withProvisioning } from '../context.js';
import { printJson, printTable, say } from '../output.js';
import { oneOfValues, positiveInt } from '../parse.js';

/** Loaded on demand: the kb stack (tokenizer, PDF reader, OpenAI and Qdrant clients) would slow every other command's start. */
export async function openKb(app: ProvisioningApp): Promise<KnowledgeApp> {
  const { openKnowledge } = await import('../../app/knowledge.js');
  return openKnowledge(app);
}

/** Opens the knowledge service over the CLI's app and always closes its adapters. */
async function withKnowledge<T>(c: Command, fn: (kb: KnowledgeService, app: ProvisioningApp) => T | Promise<T>): Promise<T> {
  return withProvisioning(c, async (app) => {
    const kb = await openKb(app);
    try {
      return await fn(kb.knowledge, app);
    } finally {
      await kb.close();
    }
  });
}

/**
 * Ingest progress: bars on a terminal (files, and embeddings of the current file), one plain line
 * per finished file otherwise. Bars go to stderr, so stdout (and --json) stays clean.
 */
async function ingestReporter(json: boolean): Promise<{ onProgress: (p: IngestProgress) => void; stop: () => void }> {
  if (process.stderr.isTTY) {
    // Loaded only for a terminal's bars (see the lazy pattern in program.ts).
    const { default: cliProgress } = await import('cli-progress');
    const multi = new cliProgress.MultiBar(
      { stream: process.stderr, clearOnComplete: false, hideCursor: true, format: ' {bar} {value}/{total} {what}' },
      cliProgress.Presets.shades_classic,
    );
    let files: SingleBar | undefined;
    let chunks: SingleBar | undefined;
    return {
      onProgress: (p) => {
        if (p.phase === 'file') {
          files ??= multi.create(p.files, 0, { what: 'files' });
          chunks?.stop();
          chunks = undefined;
        } else if (p.phase === 'chunked') {
          chunks = multi.create(p.chunks, 0, { what: `chunks of ${p.file} embedded` });
        } else if (p.phase === 'embedded') {
          chunks?.update(p.done);
        } else {
          if (p.result.status === 'unchanged') chunks?.update(chunks.getTotal(), { what: `${p.file}: unchanged, nothing embedded` });
          files?.increment();
        }
      },
      stop: () => multi.stop(),
    };
  }
  return {
    onProgress: (p) => {
      if (p.phase === 'stored' && !json) say(resultLine(p.file, p.result));
    },
    stop: () => undefined,
  };
}

function resultLine(file: string, r: { status: string; chunks: number; tokens: number; warning?: string }): string {
  const what = r.status === 'unchanged' ? 'unchanged, nothing embedded' : `${r.status}: ${r.chunks} chunks, ${r.tokens} tokens`;
  return `${file}: ${what}${r.warning ? ` (warning: ${r.warning})` : ''}`;
}

export function kbCommand(): Command {
  const cmd = new Command('kb').description(
    "knowledge bases: an account's documents, searched by its agents (kb_search); text sealed, vectors per account",
  );

  cmd
    .command('create')
    .description('create a knowledge base')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'knowledge base name')
    .action(async (account: string, name: string, _o, c: Command) => {
      const base = await withKnowledge(c, (kb) => kb.createBase(account, name));
      if (globals(c).json) printJson(base);
      else say(`created knowledge base ${base.name} (${base.id}) in account ${account}`);
    });

  cmd
    .command('add')
    .description('add or update documents (.txt .md .html .pdf); unchanged ones are not embedded again')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'knowledge base name')
    .argument('<files...>', 'documents; a file replaces the document of the same name')
    .action(async (account: string, name: string, files: string[], _o, c: Command) => {
      const json = globals(c).json === true;
      const results = await withKnowledge(c, async (kb) => {
        const reporter = await ingestReporter(json);
        try {
          return await kb.addDocuments(account, name, files, { onProgress: reporter.onProgress });
        } finally {
          reporter.stop();
        }
      });
      if (json) printJson(results);
      else if (process.stderr.isTTY) for (const r of results) say(resultLine(r.document, r));
    });

  cmd
    .command('list')
    .description("an account's knowledge bases")
    .argument('<account>', 'account id or name')
    .action(async (account: string, _o, c: Command) => {
      const list = await withKnowledge(c, (kb) => kb.listBases(account));
      if (globals(c).json) printJson(list);
      else printTable(list.map((b) => ({ id: b.id, name: b.name, documents: b.documents, chunks: b.chunks, created: b.createdAt })), ['id', 'name', 'documents', 'chunks', 'created']);
    });

  cmd
    .command('docs')
    .description('the documents of a knowledge base')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'knowledge base name')
    .action(async (account: string, name: string, _o, c: Command) => {
      const list = await withKnowledge(c, (kb) => kb.listDocuments(account, name));
      if (globals(c).json) printJson(list);
      else
        printTable(
          list.map((d) => ({ name: d.name, format: d.format, bytes: d.bytes, chunks: d.chunks, tokens: d.tokens, added: d.createdAt })),
          ['name', 'format', 'bytes', 'chunks', 'tokens', 'added'],
        );
    });

  cmd
    .command('remove')
    .description('remove a document: its sealed chunks and its vectors')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'knowledge base name')
    .argument('<document>', 'document name (see `kalem kb docs`)')
    .action(async (account: string, name: string, document: string, _o, c: Command) => {
      await withKnowledge(c, (kb) => kb.removeDocument(account, name, document));
      if (globals(c).json) printJson({ removed: document });
      else say(`removed ${document} from knowledge base ${name}`);
    });

  cmd
    .command('delete')
    .description('delete a knowledge base: its documents, chunks, vectors and agent links')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'knowledge base name')
    .option('--yes', 'confirm: this cannot be undone')
    .action(async (account: string, name: string, o: { yes?: boolean }, c: Command) => {
      if (!o.yes) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'deleting a knowledge base erases its documents; add --yes to confirm');
      const r = await withKnowledge(c, (kb) => kb.deleteBase(account, name));
      if (globals(c).json) printJson({ deleted: name, documents: r.documents });
      else say(`deleted knowledge base ${name} (${r.documents} documents)`);
    });

  cmd
    .command('search')
    .description('what an agent linked to this base would get: chunks and scores (reading them is audited)')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'knowledge base name')
    .argument('<query>', 'the question')
    .option('-k, --k <n>', 'how many chunks (default: [kb] search_k)', positiveInt)
    .option('--min-score <s>', 'lowest cosine similarity shown (default: [kb] search_min_score)', parseScore)
    .action(async (account: string, name: string, query: string, o: { k?: number; minScore?: number }, c: Command) => {
      const hits = await withKnowledge(c, (kb, app) =>
        kb.searchBase(account, name, query, { k: o.k ?? app.config.kb.search_k, minScore: o.minScore ?? app.config.kb.search_min_score }),
      );
      if (globals(c).json) {
        printJson(hits);
        return;
      }
      if (hits.length === 0) say('(no chunk scores above the floor)');
      for (const h of hits) {
        say(`${h.score.toFixed(3)}  ${printable(h.source)} #${h.chunkId}`);
        for (const line of h.text.split('\n')) say(`    ${printable(line)}`);
      }
    });

  cmd
    .command('migrate')
    .description("move an account's vectors to another backend (sqlite-vec or qdrant); run it with no ingest in progress")
    .argument('<account>', 'account id or name')
    .addOption(new Option('--to <backend>', 'sqlite-vec or qdrant').argParser(oneOfValues(['sqlite-vec', 'qdrant'] as const)).makeOptionMandatory())
    .action(async (account: string, o: { to: VectorBackend }, c: Command) => {
      const r = await withKnowledge(c, async (kb) => {
        const cliProgress = process.stderr.isTTY ? (await import('cli-progress')).default : undefined;
        const bar = cliProgress
          ? new cliProgress.SingleBar({ stream: process.stderr, format: ' {bar} {value}/{total} vectors copied' }, cliProgress.Presets.shades_classic)
          : undefined;
        let started = false;
        try {
          return await kb.migrate(account, o.to, (done, total) => {
            if (bar && !started) {
              bar.start(total, 0);
              started = true;
            }
            bar?.update(done);
          });
        } finally {
          if (started) bar?.stop();
        }
      });
      if (globals(c).json) printJson(r);
      else say(`moved ${r.vectors} vectors of account ${account} from ${r.from} to ${r.to}`);
    });

  return cmd;
}

function parseScore(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < -1 || n > 1) throw new InvalidArgumentError('expected a number between -1 and 1');
  return n;
}

/** Document text is someone else's bytes: control and bidi characters are shown escaped (--json gives them exactly). */
function printable(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
}
