/**
 * Knowledge bases: an account's documents, chunked, embedded with the account's own key, their
 * text sealed in SQLite and their vectors in the account's own collection (sqlite-vec or Qdrant).
 *
 * Ingest of one file:
 *   read → extract sections → chunk → content hash (sealed; same hash as the stored document of
 *   that name → nothing is embedded) → embed → [txn] pending document + sealed chunks →
 *   vectors upserted → [txn] new version active, old version deleted, audit row → old vectors
 *   deleted. A search only returns chunks of active documents, so it sees the old version or the
 *   new one, never a mix or neither; a crash leaves at most a pending document (cleaned at the
 *   next add of that name) and vectors without a chunk (never returned).
 *
 * Deletions remove vectors first, then rows: a failure leaves the rows (retry the command),
 * never text without its erasure. Every change writes an audit row in its transaction.
 */
import { accountByRef, wrappedAccountKey } from '../tenancy/account-lookup.js';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Clock } from '../core/clock.js';
import { kalemError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Account, Agent } from '../tenancy/model.js';
import type { SecretVault, TenantStore } from '../tenancy/ports.js';
import { chunkSections, type ChunkOptions } from './chunker.js';
import type { Embeddings } from './embeddings.js';
import { extractSections, formatOf } from './extract.js';
import type { KbBase, KbBaseSummary, KbCollection, KbDocument, KbRepository } from './kb-repository.js';
import type { VectorBackend, VectorPoint, VectorStore } from './vector-store.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_QUERY_CHARS = 2000;

export interface KnowledgeServiceDeps {
  readonly store: TenantStore;
  readonly repo: KbRepository;
  readonly vault: SecretVault;
  readonly clock: Clock;
  readonly actor: string;
  /** The adapter of a backend (built on first use; Qdrant needs [kb] qdrant_url). */
  readonly vectorStore: (backend: VectorBackend) => VectorStore;
  /** Where a new account's vectors go ([kb] backend). */
  readonly defaultBackend: VectorBackend;
  /** Embeddings on the account's own key, for ingest or for a call's query. */
  readonly embeddings: (accountId: string, model: string, purpose: 'ingest' | 'query') => Embeddings;
  readonly defaultModel: string;
  readonly chunking: ChunkOptions;
  readonly maxDocumentBytes: number;
}

export type IngestProgress =
  | { readonly phase: 'file'; readonly file: string; readonly index: number; readonly files: number }
  | { readonly phase: 'chunked'; readonly file: string; readonly chunks: number }
  | { readonly phase: 'embedded'; readonly file: string; readonly done: number; readonly chunks: number }
  | { readonly phase: 'stored'; readonly file: string; readonly result: IngestResult };

export interface IngestResult {
  readonly document: string;
  readonly status: 'added' | 'replaced' | 'unchanged';
  readonly chunks: number;
  readonly tokens: number;
  /** Set when the document was stored but old vectors could not be removed (they are never returned). */
  readonly warning?: string;
}

export interface KbHit {
  readonly chunkId: number;
  readonly score: number;
  readonly text: string;
  readonly source: string;
  readonly base: string;
}

export interface SearchOptions {
  readonly k: number;
  readonly minScore: number;
  readonly signal?: AbortSignal;
}

export class KnowledgeService {
  constructor(private readonly deps: KnowledgeServiceDeps) {}

  // ── bases ─────────────────────────────────────────────────────────────────

  createBase(accountRef: string, name: string): KbBase {
    checkName('knowledge base', name);
    return this.deps.store.transaction(() => {
      const a = this.account(accountRef);
      if (this.deps.repo.baseByName(a.id, name)) throw kalemError('KALEM_ERR_DUPLICATE', `account ${a.name} already has a knowledge base named "${name}"`);
      const base: KbBase = { id: newId('kb'), accountId: a.id, name, createdAt: this.at() };
      this.deps.repo.insertBase(base);
      this.audit(a.id, 'kb.create', base.id, { name });
      return base;
    });
  }

  listBases(accountRef: string): KbBaseSummary[] {
    return this.deps.repo.listBases(this.account(accountRef).id);
  }

  listDocuments(accountRef: string, baseRef: string): KbDocument[] {
    const { account, base } = this.base(accountRef, baseRef);
    return this.deps.repo.listDocuments(account.id, base.id);
  }

  /** Deletes a base: its vectors, then its documents, chunks and agent links. */
  async deleteBase(accountRef: string, baseRef: string): Promise<{ documents: number }> {
    const { account, base } = this.base(accountRef, baseRef);
    const col = this.deps.repo.collection(account.id);
    if (col) await this.deps.vectorStore(col.backend).deleteBase(account.id, base.id);
    return this.deps.store.transaction(() => {
      const documents = this.deps.repo.listDocuments(account.id, base.id).length;
      this.deps.repo.deleteBase(account.id, base.id);
      this.audit(account.id, 'kb.delete', base.id, { name: base.name, documents });
      return { documents };
    });
  }

  // ── documents ─────────────────────────────────────────────────────────────

  async addDocuments(
    accountRef: string,
    baseRef: string,
    files: readonly string[],
    opts: { onProgress?: (p: IngestProgress) => void; signal?: AbortSignal } = {},
  ): Promise<IngestResult[]> {
    if (files.length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'no files given');
    const names = files.map((f) => basename(f));
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `two files are named ${dup}; a base keeps one document per file name`);
    for (const f of files) formatOf(f); // refuse an unsupported file before embedding anything
    const { account, base } = this.base(accountRef, baseRef);
    const results: IngestResult[] = [];
    for (const [index, file] of files.entries()) {
      opts.onProgress?.({ phase: 'file', file: names[index]!, index, files: files.length });
      const result = await this.addOne(account, base, file, opts);
      results.push(result);
      opts.onProgress?.({ phase: 'stored', file: names[index]!, result });
    }
    return results;
  }

  private async addOne(
    account: Account,
    base: KbBase,
    file: string,
    opts: { onProgress?: (p: IngestProgress) => void; signal?: AbortSignal },
  ): Promise<IngestResult> {
    const name = basename(file);
    const format = formatOf(file);
    const bytes = await this.readDocument(file, name);
    const chunks = chunkSections(await extractSections(bytes, format, name), this.deps.chunking);
    if (chunks.length === 0) throw kalemError('KALEM_ERR_KB_FORMAT', `${name}: no text found; nothing was added`);
    const tokens = chunks.reduce((n, c) => n + c.tokens, 0);
    opts.onProgress?.({ phase: 'chunked', file: name, chunks: chunks.length });

    const repo = this.deps.repo;
    const existingCol = repo.collection(account.id);
    const model = existingCol?.model ?? this.deps.defaultModel;
    const hash = contentHash(bytes, model, this.deps.chunking);
    const current = repo.activeDocument(account.id, base.id, name);
    if (current && this.sameHash(account.id, current.id, current.hashSealed, hash)) {
      return { document: name, status: 'unchanged', chunks: current.chunks, tokens: current.tokens };
    }

    const vectors = await this.deps.embeddings(account.id, model, 'ingest').embed(
      chunks.map((c) => c.text),
      {
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (done) => opts.onProgress?.({ phase: 'embedded', file: name, done, chunks: chunks.length }),
      },
    );
    const dimension = vectors[0]!.length;
    if (existingCol && existingCol.dimension !== dimension) {
      throw kalemError(
        'KALEM_ERR_KB_EMBEDDINGS',
        `${model} gave ${dimension}-dimensional vectors but account ${account.name}'s collection holds ${existingCol.dimension}; nothing was added`,
      );
    }
    const col: KbCollection = existingCol ?? { accountId: account.id, backend: this.deps.defaultBackend, model, dimension };
    const vstore = this.deps.vectorStore(col.backend);

    // 1. The new version, pending (invisible to searches), with its sealed chunks.
    const docId = newId('doc');
    const wrapped = this.wrappedKey(account.id);
    const { chunkIds, stale } = this.deps.store.transaction(() => {
      if (!existingCol) repo.putCollection(col, this.at());
      const stale: number[] = [];
      for (const p of repo.pendingDocuments(account.id, base.id, name)) {
        stale.push(...repo.chunkIdsOfDocument(account.id, p.id));
        repo.deleteDocument(account.id, p.id);
      }
      repo.insertPendingDocument({
        id: docId,
        accountId: account.id,
        baseId: base.id,
        name,
        format,
        bytes: bytes.length,
        chunks: chunks.length,
        tokens,
        createdAt: this.at(),
        hashSealed: this.deps.vault.seal(account.id, wrapped, hashName(docId), 1, hash),
      });
      const chunkIds = chunks.map((c) => {
        const plain = new TextEncoder().encode(c.text);
        try {
          return repo.insertChunk(account.id, docId, c.seq, c.tokens, this.deps.vault.seal(account.id, wrapped, chunkName(docId, c.seq), 1, plain));
        } finally {
          this.deps.vault.wipe(plain);
        }
      });
      return { chunkIds, stale };
    });

    // 2. Its vectors.
    try {
      await vstore.ensureCollection(account.id, dimension);
      const points: VectorPoint[] = chunkIds.map((id, i) => ({ id, baseId: base.id, vector: vectors[i]! }));
      await vstore.upsert(account.id, points);
    } catch (err) {
      this.deps.store.transaction(() => repo.deleteDocument(account.id, docId));
      throw err;
    }

    // 3. The switch: the new version becomes the one searches see, the old one goes.
    const oldIds = this.deps.store.transaction(() => {
      const old = repo.activeDocument(account.id, base.id, name);
      const ids = old ? repo.chunkIdsOfDocument(account.id, old.id) : [];
      if (old) repo.deleteDocument(account.id, old.id);
      repo.activateDocument(account.id, docId);
      this.audit(account.id, old ? 'kb.document.replace' : 'kb.document.add', docId, {
        base: base.name,
        document: name,
        chunks: chunks.length,
        tokens,
      });
      return ids;
    });

    // 4. The old version's vectors (and a crashed ingest's); leftovers are never returned.
    let warning: string | undefined;
    try {
      await vstore.delete(account.id, [...oldIds, ...stale]);
    } catch (err) {
      warning = `old vectors were not removed: ${(err as Error).message}`;
    }
    return { document: name, status: current ? 'replaced' : 'added', chunks: chunks.length, tokens, ...(warning ? { warning } : {}) };
  }

  async removeDocument(accountRef: string, baseRef: string, documentName: string): Promise<void> {
    const { account, base } = this.base(accountRef, baseRef);
    const doc = this.deps.repo.activeDocument(account.id, base.id, documentName);
    if (!doc) throw kalemError('KALEM_ERR_UNKNOWN_KB_DOCUMENT', documentName, base.name);
    const col = this.deps.repo.collection(account.id);
    if (col) await this.deps.vectorStore(col.backend).delete(account.id, this.deps.repo.chunkIdsOfDocument(account.id, doc.id));
    this.deps.store.transaction(() => {
      this.deps.repo.deleteDocument(account.id, doc.id);
      this.audit(account.id, 'kb.document.remove', doc.id, { base: base.name, document: doc.name, chunks: doc.chunks });
    });
  }

  // ── search ────────────────────────────────────────────────────────────────

  /**
   * The `k` chunks of these bases of this account nearest to the query, at or above minScore,
   * best first, text opened. The account id is the only way in: vectors are looked up in its
   * own collection and chunks joined on its own rows.
   */
  async search(accountId: string, baseIds: readonly string[], query: string, opts: SearchOptions): Promise<KbHit[]> {
    const q = query.trim().slice(0, MAX_QUERY_CHARS);
    if (q === '') throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'the query is empty');
    const col = this.deps.repo.collection(accountId);
    if (!col || baseIds.length === 0) return [];
    const [vector] = await this.deps.embeddings(accountId, col.model, 'query').embed([q], opts.signal ? { signal: opts.signal } : {});
    if (vector!.length !== col.dimension) throw kalemError('KALEM_ERR_KB_EMBEDDINGS', `the query vector has ${vector!.length} dimensions, the collection ${col.dimension}`);
    // A few more than k: vectors left behind by an interrupted ingest are dropped below.
    const hits = await this.deps.vectorStore(col.backend).search({
      accountId,
      baseIds,
      vector: vector!,
      k: opts.k + 4,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const scores = new Map(hits.map((h) => [h.id, h.score]));
    const rows = this.deps.repo.activeChunks(accountId, baseIds, hits.map((h) => h.id));
    const wrapped = this.wrappedKey(accountId);
    return rows
      .map((r) => ({ r, score: scores.get(r.id) ?? -1 }))
      .filter((x) => x.score >= opts.minScore)
      .sort((a, b) => b.score - a.score)
      .slice(0, opts.k)
      .map(({ r, score }) => {
        const plain = this.deps.vault.open(accountId, wrapped, chunkName(r.documentId, r.seq), 1, r.sealed);
        try {
          return { chunkId: r.id, score, text: new TextDecoder().decode(plain), source: r.documentName, base: r.baseName };
        } finally {
          this.deps.vault.wipe(plain);
        }
      });
  }

  /** `kalem kb search`: what an agent linked to this base would get. Reading chunk text is audited. */
  async searchBase(accountRef: string, baseRef: string, query: string, opts: SearchOptions): Promise<KbHit[]> {
    const { account, base } = this.base(accountRef, baseRef);
    const hits = await this.search(account.id, [base.id], query, opts);
    this.deps.store.transaction(() => this.audit(account.id, 'kb.search', base.id, { base: base.name, results: hits.length }));
    return hits;
  }

  // ── agents ────────────────────────────────────────────────────────────────

  /** Sets the bases an agent searches (replacing the previous list; empty = none). */
  linkAgent(accountRef: string, agentRef: string, baseRefs: readonly string[]): KbBase[] {
    return this.deps.store.transaction(() => {
      const a = this.account(accountRef);
      const agent = this.agent(a, agentRef);
      const bases = baseRefs.map((ref) => {
        const b = this.deps.repo.baseByName(a.id, ref);
        if (!b) throw kalemError('KALEM_ERR_UNKNOWN_KB', ref, a.name);
        return b;
      });
      this.deps.repo.unlinkAgent(a.id, agent.id);
      for (const b of bases) this.deps.repo.linkAgent(a.id, agent.id, b.id);
      this.audit(a.id, 'agent.kb', agent.id, { agent: agent.name, bases: bases.map((b) => b.name) });
      return bases;
    });
  }

  basesOfAgent(accountId: string, agentId: string): KbBase[] {
    return this.deps.repo.basesOfAgent(accountId, agentId);
  }

  // ── backends ──────────────────────────────────────────────────────────────

  /**
   * Moves an account's vectors to another backend: copied page by page (only vectors that
   * belong to a stored chunk), counted, then the account is switched over in one transaction
   * and the old collection dropped. Searches use the old collection until the switch.
   */
  async migrate(accountRef: string, to: VectorBackend, onProgress?: (done: number, total: number) => void): Promise<{ from: VectorBackend; to: VectorBackend; vectors: number }> {
    const a = this.account(accountRef);
    const col = this.deps.repo.collection(a.id);
    if (!col) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `account ${a.name} has no vectors yet; new ones go to [kb] backend`);
    if (col.backend === to) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `account ${a.name}'s vectors are already in ${to}`);
    const src = this.deps.vectorStore(col.backend);
    const dst = this.deps.vectorStore(to);
    const known = this.deps.repo.knownChunkIds(a.id);
    const total = known.size;
    await dst.dropCollection(a.id); // a leftover of an earlier, interrupted migration
    await dst.ensureCollection(a.id, col.dimension);
    let copied = 0;
    for await (const page of src.scan(a.id, 256)) {
      const keep = page.filter((p) => known.has(p.id));
      await dst.upsert(a.id, keep);
      copied += keep.length;
      onProgress?.(copied, total);
    }
    const counted = await dst.count(a.id);
    if (counted !== copied) {
      throw kalemError('KALEM_ERR_KB_VECTOR_STORE', `${to} holds ${counted} vectors after copying ${copied}; the account stays on ${col.backend}`);
    }
    this.deps.store.transaction(() => {
      this.deps.repo.putCollection({ ...col, backend: to }, this.at());
      this.audit(a.id, 'kb.migrate', a.id, { from: col.backend, to, vectors: copied });
    });
    await src.dropCollection(a.id);
    return { from: col.backend, to, vectors: copied };
  }

  /**
   * Removes every vector of an account (before the account itself is deleted, or erased): its
   * collection in the backend it uses, and the local sqlite-vec table in any case.
   */
  async dropAccount(accountId: string): Promise<void> {
    const col = this.deps.repo.collection(accountId);
    if (col && col.backend !== 'sqlite-vec') await this.deps.vectorStore(col.backend).dropCollection(accountId);
    await this.deps.vectorStore('sqlite-vec').dropCollection(accountId);
  }

  // ── internals ─────────────────────────────────────────────────────────────

  private async readDocument(file: string, name: string): Promise<Uint8Array> {
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (err) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (size > this.deps.maxDocumentBytes) {
      throw kalemError('KALEM_ERR_KB_FORMAT', `${name} is ${size} bytes, over [kb] max_document_bytes (${this.deps.maxDocumentBytes}); nothing was added`);
    }
    return new Uint8Array(await readFile(file));
  }

  private sameHash(accountId: string, docId: string, sealed: Uint8Array, hash: Uint8Array): boolean {
    const stored = this.deps.vault.open(accountId, this.wrappedKey(accountId), hashName(docId), 1, sealed);
    try {
      return Buffer.from(stored).equals(Buffer.from(hash));
    } finally {
      this.deps.vault.wipe(stored);
    }
  }

  private account(ref: string): Account {
    return accountByRef(this.deps.store.accounts, ref);
  }

  private agent(a: Account, ref: string): Agent {
    const agent = this.deps.store.agents.get(a.id, ref) ?? this.deps.store.agents.findByName(a.id, ref);
    if (!agent) throw kalemError('KALEM_ERR_UNKNOWN_AGENT', ref, a.name);
    return agent;
  }

  private base(accountRef: string, baseRef: string): { account: Account; base: KbBase } {
    const account = this.account(accountRef);
    const base = this.deps.repo.baseByName(account.id, baseRef);
    if (!base) throw kalemError('KALEM_ERR_UNKNOWN_KB', baseRef, account.name);
    return { account, base };
  }

  private wrappedKey(accountId: string): Uint8Array {
    return wrappedAccountKey(this.deps.store.accounts, accountId);
  }

  private audit(accountId: string, action: string, target: string, details: Record<string, unknown>): void {
    this.deps.store.audit.append({ at: this.at(), actor: this.deps.actor, accountId, action, target, details });
  }

  private at(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}

/** The name a chunk is sealed under: binds the blob to its document and position. */
export function chunkName(documentId: string, seq: number): string {
  return `kb-chunk:${documentId}:${seq}`;
}

function hashName(documentId: string): string {
  return `kb-doc-hash:${documentId}`;
}

/** What decides "unchanged": the file's bytes, and the model and chunking that made its vectors. */
function contentHash(bytes: Uint8Array, model: string, chunking: ChunkOptions): Uint8Array {
  return new Uint8Array(
    createHash('sha256').update(bytes).update(`\0${model}\0${chunking.maxTokens}\0${chunking.overlapTokens}`).digest(),
  );
}

function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `${what} names are 1-64 letters, digits, "_", "." or "-", starting with a letter or digit (got "${name}")`);
  }
}
