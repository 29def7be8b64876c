/**
 * SQL of the knowledge-base tables (migration 5). Every statement names the account it works in.
 * Sealing and opening happen in the service; this sees only blobs.
 */
import type { Db } from '../store/database.js';
import type { VectorBackend } from './vector-store.js';

export interface KbCollection {
  readonly accountId: string;
  readonly backend: VectorBackend;
  readonly model: string;
  readonly dimension: number;
}

export interface KbBase {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface KbBaseSummary extends KbBase {
  readonly documents: number;
  readonly chunks: number;
}

export interface KbDocument {
  readonly id: string;
  readonly accountId: string;
  readonly baseId: string;
  readonly name: string;
  readonly format: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly tokens: number;
  readonly createdAt: string;
}

export interface NewKbDocument extends KbDocument {
  readonly hashSealed: Uint8Array;
}

export interface KbChunkRow {
  readonly id: number;
  readonly documentId: string;
  readonly documentName: string;
  readonly baseId: string;
  readonly baseName: string;
  readonly seq: number;
  readonly sealed: Uint8Array;
}

interface DocRow {
  id: string;
  account_id: string;
  base_id: string;
  name: string;
  format: string;
  bytes: number;
  chunks: number;
  tokens: number;
  created_at: string;
}

const toDoc = (r: DocRow): KbDocument => ({
  id: r.id,
  accountId: r.account_id,
  baseId: r.base_id,
  name: r.name,
  format: r.format,
  bytes: r.bytes,
  chunks: r.chunks,
  tokens: r.tokens,
  createdAt: r.created_at,
});

const DOC_COLUMNS = 'id, account_id, base_id, name, format, bytes, chunks, tokens, created_at';

export class KbRepository {
  constructor(readonly db: Db) {}

  // ── collections ──
  collection(accountId: string): KbCollection | undefined {
    const r = this.db.prepare('SELECT account_id, backend, model, dimension FROM kb_collections WHERE account_id = ?').get(accountId) as
      | { account_id: string; backend: VectorBackend; model: string; dimension: number }
      | undefined;
    return r && { accountId: r.account_id, backend: r.backend, model: r.model, dimension: r.dimension };
  }

  putCollection(c: KbCollection, at: string): void {
    this.db
      .prepare(
        `INSERT INTO kb_collections (account_id, backend, model, dimension, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(account_id) DO UPDATE SET backend = excluded.backend, model = excluded.model, dimension = excluded.dimension`,
      )
      .run(c.accountId, c.backend, c.model, c.dimension, at);
  }

  deleteCollection(accountId: string): void {
    this.db.prepare('DELETE FROM kb_collections WHERE account_id = ?').run(accountId);
  }

  // ── bases ──
  insertBase(b: KbBase): void {
    this.db.prepare('INSERT INTO kb_bases (id, account_id, name, created_at) VALUES (?, ?, ?, ?)').run(b.id, b.accountId, b.name, b.createdAt);
  }

  baseByName(accountId: string, name: string): KbBase | undefined {
    const r = this.db.prepare('SELECT id, account_id, name, created_at FROM kb_bases WHERE account_id = ? AND (name = ? OR id = ?)').get(accountId, name, name) as
      | { id: string; account_id: string; name: string; created_at: string }
      | undefined;
    return r && { id: r.id, accountId: r.account_id, name: r.name, createdAt: r.created_at };
  }

  listBases(accountId: string): KbBaseSummary[] {
    const rows = this.db
      .prepare(
        `SELECT b.id, b.account_id, b.name, b.created_at,
                (SELECT count(*) FROM kb_documents d WHERE d.account_id = b.account_id AND d.base_id = b.id AND d.state = 'active') AS documents,
                (SELECT coalesce(sum(d.chunks), 0) FROM kb_documents d WHERE d.account_id = b.account_id AND d.base_id = b.id AND d.state = 'active') AS chunks
         FROM kb_bases b WHERE b.account_id = ? ORDER BY b.name`,
      )
      .all(accountId) as Array<{ id: string; account_id: string; name: string; created_at: string; documents: number; chunks: number }>;
    return rows.map((r) => ({ id: r.id, accountId: r.account_id, name: r.name, createdAt: r.created_at, documents: r.documents, chunks: r.chunks }));
  }

  deleteBase(accountId: string, baseId: string): void {
    this.db.prepare('DELETE FROM kb_bases WHERE account_id = ? AND id = ?').run(accountId, baseId);
  }

  countBases(accountId: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM kb_bases WHERE account_id = ?').get(accountId) as { n: number }).n;
  }

  // ── documents ──
  activeDocument(accountId: string, baseId: string, name: string): (KbDocument & { hashSealed: Uint8Array }) | undefined {
    const r = this.db
      .prepare(`SELECT ${DOC_COLUMNS}, content_hash_sealed FROM kb_documents WHERE account_id = ? AND base_id = ? AND name = ? AND state = 'active'`)
      .get(accountId, baseId, name) as (DocRow & { content_hash_sealed: Buffer }) | undefined;
    return r && { ...toDoc(r), hashSealed: new Uint8Array(r.content_hash_sealed) };
  }

  /** Documents of a name left 'pending' by an ingest that did not finish. */
  pendingDocuments(accountId: string, baseId: string, name: string): KbDocument[] {
    return (
      this.db
        .prepare(`SELECT ${DOC_COLUMNS} FROM kb_documents WHERE account_id = ? AND base_id = ? AND name = ? AND state = 'pending'`)
        .all(accountId, baseId, name) as DocRow[]
    ).map(toDoc);
  }

  listDocuments(accountId: string, baseId: string): KbDocument[] {
    return (
      this.db
        .prepare(`SELECT ${DOC_COLUMNS} FROM kb_documents WHERE account_id = ? AND base_id = ? AND state = 'active' ORDER BY name`)
        .all(accountId, baseId) as DocRow[]
    ).map(toDoc);
  }

  insertPendingDocument(d: NewKbDocument): void {
    this.db
      .prepare(
        `INSERT INTO kb_documents (id, account_id, base_id, name, format, state, content_hash_sealed, bytes, chunks, tokens, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
      )
      .run(d.id, d.accountId, d.baseId, d.name, d.format, Buffer.from(d.hashSealed), d.bytes, d.chunks, d.tokens, d.createdAt);
  }

  activateDocument(accountId: string, documentId: string): void {
    this.db.prepare("UPDATE kb_documents SET state = 'active' WHERE account_id = ? AND id = ?").run(accountId, documentId);
  }

  deleteDocument(accountId: string, documentId: string): void {
    this.db.prepare('DELETE FROM kb_documents WHERE account_id = ? AND id = ?').run(accountId, documentId);
  }

  // ── chunks ──
  insertChunk(accountId: string, documentId: string, seq: number, tokens: number, sealed: Uint8Array): number {
    const r = this.db
      .prepare('INSERT INTO kb_chunks (account_id, document_id, seq, tokens, sealed) VALUES (?, ?, ?, ?, ?)')
      .run(accountId, documentId, seq, tokens, Buffer.from(sealed));
    return Number(r.lastInsertRowid);
  }

  chunkIdsOfDocument(accountId: string, documentId: string): number[] {
    return (this.db.prepare('SELECT id FROM kb_chunks WHERE account_id = ? AND document_id = ?').all(accountId, documentId) as Array<{ id: number }>).map((r) => r.id);
  }

  chunkIdsOfBase(accountId: string, baseId: string): number[] {
    return (
      this.db
        .prepare('SELECT c.id FROM kb_chunks c JOIN kb_documents d ON d.account_id = c.account_id AND d.id = c.document_id WHERE c.account_id = ? AND d.base_id = ?')
        .all(accountId, baseId) as Array<{ id: number }>
    ).map((r) => r.id);
  }

  /** Chunk ids of the account that belong to a document (active or pending): what a vector may point at. */
  knownChunkIds(accountId: string): Set<number> {
    return new Set((this.db.prepare('SELECT id FROM kb_chunks WHERE account_id = ?').all(accountId) as Array<{ id: number }>).map((r) => r.id));
  }

  /** Active chunks among `ids`, of this account and these bases only. */
  activeChunks(accountId: string, baseIds: readonly string[], ids: readonly number[]): KbChunkRow[] {
    if (ids.length === 0) return [];
    const rows = this.db
      .prepare(
        `SELECT c.id, c.document_id, c.seq, c.sealed, d.name AS document_name, d.base_id, b.name AS base_name
         FROM kb_chunks c
         JOIN kb_documents d ON d.account_id = c.account_id AND d.id = c.document_id
         JOIN kb_bases b ON b.account_id = d.account_id AND b.id = d.base_id
         WHERE c.account_id = ? AND d.state = 'active'
           AND c.id IN (SELECT value FROM json_each(?))
           AND d.base_id IN (SELECT value FROM json_each(?))`,
      )
      .all(accountId, JSON.stringify(ids), JSON.stringify(baseIds)) as Array<{
      id: number;
      document_id: string;
      seq: number;
      sealed: Buffer;
      document_name: string;
      base_id: string;
      base_name: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      documentId: r.document_id,
      documentName: r.document_name,
      baseId: r.base_id,
      baseName: r.base_name,
      seq: r.seq,
      sealed: new Uint8Array(r.sealed),
    }));
  }

  // ── agent links ──
  linkAgent(accountId: string, agentId: string, baseId: string): void {
    this.db.prepare('INSERT OR IGNORE INTO agent_knowledge_bases (account_id, agent_id, base_id) VALUES (?, ?, ?)').run(accountId, agentId, baseId);
  }

  unlinkAgent(accountId: string, agentId: string): void {
    this.db.prepare('DELETE FROM agent_knowledge_bases WHERE account_id = ? AND agent_id = ?').run(accountId, agentId);
  }

  basesOfAgent(accountId: string, agentId: string): KbBase[] {
    return (
      this.db
        .prepare(
          `SELECT b.id, b.account_id, b.name, b.created_at FROM agent_knowledge_bases l
           JOIN kb_bases b ON b.account_id = l.account_id AND b.id = l.base_id
           WHERE l.account_id = ? AND l.agent_id = ? ORDER BY b.name`,
        )
        .all(accountId, agentId) as Array<{ id: string; account_id: string; name: string; created_at: string }>
    ).map((r) => ({ id: r.id, accountId: r.account_id, name: r.name, createdAt: r.created_at }));
  }
}
