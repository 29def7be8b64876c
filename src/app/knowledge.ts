/**
 * Builds the knowledge-base service over an open ProvisioningApp: the kb tables on the same
 * connection, the vector-store adapters (sqlite-vec on that connection; Qdrant when configured,
 * built on first use), and OpenAI embeddings on each account's own key.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { kalemError } from '../core/errors.js';
import { OpenAIEmbeddings } from '../kb/embeddings.js';
import { KbRepository } from '../kb/kb-repository.js';
import { KnowledgeService } from '../kb/knowledge-service.js';
import { QdrantStore } from '../kb/qdrant-store.js';
import { SqliteVecStore } from '../kb/sqlite-vec-store.js';
import type { VectorBackend, VectorHit, VectorSearch, VectorStore } from '../kb/vector-store.js';
import { withStatementCache } from '../store/statement-cache.js';
import type { ProvisioningApp } from './open-app.js';

export interface KnowledgeApp {
  readonly knowledge: KnowledgeService;
  close(): Promise<void>;
}

export interface KnowledgeOptions {
  /** Runs sqlite-vec searches elsewhere (the daemon: a worker thread). */
  readonly sqliteVecSearcher?: (q: VectorSearch) => Promise<VectorHit[]>;
  /** Embeddings requests of a call's kb_search get fewer retries than an ingest (latency budget). */
  readonly queryRetries?: number;
}

export function openKnowledge(app: ProvisioningApp, opts: KnowledgeOptions = {}): KnowledgeApp {
  const kb = app.config.kb;
  const db = app.store.db;
  const stores = new Map<VectorBackend, VectorStore>();
  const vectorStore = (backend: VectorBackend): VectorStore => {
    let s = stores.get(backend);
    if (s) return s;
    if (backend === 'sqlite-vec') {
      s = new SqliteVecStore(db, { prefilter: kb.sqlite_vec_prefilter, ...(opts.sqliteVecSearcher ? { searcher: opts.sqliteVecSearcher } : {}) });
    } else {
      if (kb.qdrant_url === null) throw kalemError('KALEM_ERR_KB_VECTOR_STORE', 'this account\'s vectors are in Qdrant: set [kb] qdrant_url');
      const apiKey = kb.qdrant_api_key_file === null ? undefined : readKeyFile(kb.qdrant_api_key_file);
      s = new QdrantStore({ url: kb.qdrant_url, timeoutMs: kb.qdrant_timeout_ms, ...(apiKey ? { apiKey } : {}) });
    }
    stores.set(backend, s);
    return s;
  };
  const knowledge = new KnowledgeService({
    store: app.store,
    repo: new KbRepository(withStatementCache(db)),
    vault: app.keyring,
    clock: app.clock,
    actor: app.actor,
    vectorStore,
    defaultBackend: kb.backend,
    defaultModel: kb.embedding_model,
    embeddings: (accountId, model, purpose) =>
      new OpenAIEmbeddings({
        accountId,
        model,
        baseURL: kb.embeddings_base_url,
        openKey: () => {
          try {
            return app.provisioning.openSecret(accountId, 'openai');
          } catch (err) {
            if ((err as { code?: string }).code === 'KALEM_ERR_UNKNOWN_SECRET') return undefined;
            throw err;
          }
        },
        wipe: (b) => app.keyring.wipe(b),
        batchSize: kb.embedding_batch,
        maxRetries: purpose === 'ingest' ? kb.embedding_retries : (opts.queryRetries ?? 1),
        timeoutMs: purpose === 'ingest' ? kb.embedding_timeout_ms : kb.search_timeout_ms,
      }),
    chunking: { maxTokens: kb.chunk_tokens, overlapTokens: Math.min(kb.chunk_overlap_tokens, kb.chunk_tokens - 1) },
    maxDocumentBytes: kb.max_document_bytes,
  });
  return {
    knowledge,
    close: async () => {
      for (const s of stores.values()) await s.close();
    },
  };
}

/** The Qdrant API key file: like the master key, refused when others can read it. */
function readKeyFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw kalemError('KALEM_ERR_CONFIG_INVALID', `cannot read kb.qdrant_api_key_file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw kalemError('KALEM_ERR_CONFIG_INVALID', `kb.qdrant_api_key_file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) throw kalemError('KALEM_ERR_CONFIG_INVALID', `kb.qdrant_api_key_file ${path} is readable by others: run \`chmod 600 ${path}\``);
    const key = readFileSync(fd, 'utf8').trim();
    if (key === '') throw kalemError('KALEM_ERR_CONFIG_INVALID', `kb.qdrant_api_key_file ${path} is empty`);
    return key;
  } finally {
    closeSync(fd);
  }
}
