// Knowledge-base test fixtures: a real config, database and master key in a temp dir, the
// service built by the same composition the CLI uses, and the OpenAI embeddings STAND-IN
// (test/stand-ins/openai-embeddings.ts) in place of OpenAI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openKnowledge, type KnowledgeApp } from '../../src/app/knowledge.js';
import { openProvisioning, type ProvisioningApp } from '../../src/app/open-app.js';
import { createMasterKeyFile } from '../../src/crypto/master-key.js';
import { OpenAIEmbeddingsStandIn } from '../stand-ins/openai-embeddings.js';

export interface KbFixture {
  dir: string;
  dbPath: string;
  app: ProvisioningApp;
  kb: KnowledgeApp;
  embeddings: OpenAIEmbeddingsStandIn;
  /** The planted OpenAI key of every account the fixture creates. */
  key: string;
  /** Writes a document into the temp dir and returns its path. */
  file(name: string, content: string | Uint8Array): string;
  /** An account with the planted key. */
  account(name: string): void;
  close(): Promise<void>;
}

export async function kbFixture(opts: { kbToml?: string; embeddings?: OpenAIEmbeddingsStandIn } = {}): Promise<KbFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-kb-'));
  const key = `sk-proj-PLANTED${randomBytes(12).toString('hex')}`;
  const embeddings = opts.embeddings ?? (await OpenAIEmbeddingsStandIn.start({ apiKey: key }));
  const dbPath = join(dir, 'kalem.db');
  createMasterKeyFile(join(dir, 'master.key'));
  const configPath = join(dir, 'kalem.toml');
  writeFileSync(
    configPath,
    [
      `[store]\npath = ${JSON.stringify(dbPath)}`,
      `[keys]\nmaster_key_file = ${JSON.stringify(join(dir, 'master.key'))}`,
      `[kb]\nembeddings_base_url = "${embeddings.baseURL}"\nembedding_retries = 3\nchunk_tokens = 120\nchunk_overlap_tokens = 20\n${opts.kbToml ?? ''}`,
    ].join('\n'),
  );
  const app = await openProvisioning({ configPath, logDestination: { write: () => true } as never });
  const kb = openKnowledge(app);
  return {
    dir,
    dbPath,
    app,
    kb,
    embeddings,
    key,
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    account(name) {
      app.provisioning.createAccount({ name });
      app.provisioning.setSecret(name, 'openai', Buffer.from(key));
    },
    async close() {
      await kb.close();
      app.close();
      if (!opts.embeddings) await embeddings.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Two documents an agent of a dental practice would have. */
export const HOURS_MD = `# Smile Dental

## Opening hours

We are open Monday to Friday from 8 am to 6 pm, and on Saturday mornings from 9 am to noon.
The practice is closed on Sundays and public holidays.

## Prices

A check-up costs 45 euros. A cleaning costs 70 euros. Whitening starts at 250 euros.

## Parking

Free parking is available behind the building, entrance from Rose Street.
`;

/** A one-page PDF holding `text` (Helvetica, one line per entry), built by hand: offsets computed. */
export function tinyPdf(lines: string[]): Uint8Array {
  const esc = (s: string): string => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const content = `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((l) => `(${esc(l)}) Tj T*`).join(' ')} ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, 'latin1'));
}
