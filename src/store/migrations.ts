/**
 * Numbered schema migrations. Each runs once, in its own transaction, and is recorded in
 * `schema_migrations`. Never edit a migration that has shipped: add the next number.
 * Kept as TypeScript strings (not .sql files) so the built dist/ needs no asset copying.
 */
import type Database from 'better-sqlite3';
import { kalemError } from '../core/errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * A step that needs more than SQL (re-sealing data under new keys), run after `sql` in the same
   * transaction. It gets the master key's services when the caller could load the key; it must
   * refuse (throw) when it has rows to convert and no keys. Idempotent: it selects only rows
   * still in the old form.
   */
  readonly run?: (db: Database.Database, keys: MigrationKeys | undefined) => void;
}

/** What a crypto migration needs from the keyring, over plain bytes (store/ never imports crypto/). */
export interface MigrationKeys {
  /** A transcript sealed directly under the account key (schema 2), re-sealed under a data key of its own. */
  transcriptToDataKey(accountId: string, wrappedAccountKey: Uint8Array, callId: string, legacySealed: Uint8Array): { wrappedKey: Uint8Array; sealed: Uint8Array };
  /** A caller From URI stored in clear (schema 2): its keyed hash and sealed form. */
  sealCaller(accountId: string, wrappedAccountKey: Uint8Array, callId: string, fromUri: string): { hash: Uint8Array; sealed: Uint8Array };
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tenancy',
    sql: `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;

CREATE TABLE accounts (
  id                      TEXT PRIMARY KEY,
  name                    TEXT NOT NULL UNIQUE,
  status                  TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  max_concurrent_calls    INTEGER CHECK (max_concurrent_calls IS NULL OR max_concurrent_calls > 0),
  retention_transcripts_days INTEGER CHECK (retention_transcripts_days IS NULL OR retention_transcripts_days >= 0),
  retention_recordings_days  INTEGER CHECK (retention_recordings_days IS NULL OR retention_recordings_days >= 0),
  retention_cdr_days         INTEGER CHECK (retention_cdr_days IS NULL OR retention_cdr_days >= 0),
  wrapped_key             BLOB NOT NULL,
  created_at              TEXT NOT NULL,
  updated_at              TEXT NOT NULL
) STRICT;

CREATE TABLE agents (
  id                 TEXT PRIMARY KEY,
  account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name               TEXT NOT NULL,
  kind               TEXT NOT NULL CHECK (kind IN ('realtime', 'echo')),
  model              TEXT NOT NULL,
  voice              TEXT NOT NULL,
  instructions       TEXT NOT NULL,
  audio_mode         TEXT NOT NULL CHECK (audio_mode IN ('pcm16', 'g711')),
  turn_detection     TEXT NOT NULL,
  tools              TEXT NOT NULL,
  first_words        TEXT,
  max_call_seconds   INTEGER NOT NULL CHECK (max_call_seconds > 0),
  store_transcripts  INTEGER NOT NULL CHECK (store_transcripts IN (0, 1)),
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL,
  UNIQUE (account_id, name),
  UNIQUE (account_id, id)
) STRICT;

-- The composite foreign key makes it impossible for a number of account A to point at an agent
-- of account B, whatever the application does.
CREATE TABLE numbers (
  e164        TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  agent_id    TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  FOREIGN KEY (account_id, agent_id) REFERENCES agents(account_id, id) ON DELETE RESTRICT
) STRICT;
CREATE INDEX numbers_account ON numbers(account_id);

CREATE TABLE trunks (
  id                      TEXT PRIMARY KEY,
  account_id              TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name                    TEXT NOT NULL,
  cidrs                   TEXT NOT NULL,
  digest_username         TEXT,
  digest_password_sealed  BLOB,
  max_concurrent_calls    INTEGER CHECK (max_concurrent_calls IS NULL OR max_concurrent_calls > 0),
  created_at              TEXT NOT NULL,
  UNIQUE (account_id, name),
  CHECK ((digest_username IS NULL) = (digest_password_sealed IS NULL))
) STRICT;
CREATE UNIQUE INDEX trunks_digest_username ON trunks(digest_username) WHERE digest_username IS NOT NULL;

CREATE TABLE secrets (
  account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL CHECK (version > 0),
  sealed      BLOB NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (account_id, name, version)
) STRICT;

CREATE TABLE calls (
  id                TEXT PRIMARY KEY,
  account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  agent_id          TEXT,
  trunk_id          TEXT,
  number_e164       TEXT,
  sip_call_id       TEXT NOT NULL,
  from_uri          TEXT,
  started_at        TEXT NOT NULL,
  answered_at       TEXT,
  ended_at          TEXT,
  end_reason        TEXT,
  hangup_by         TEXT,
  details           TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX calls_account_started ON calls(account_id, started_at);

-- No foreign key to accounts: the trail of an account outlives the account.
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  actor       TEXT NOT NULL,
  account_id  TEXT,
  action      TEXT NOT NULL,
  target      TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_account ON audit_log(account_id, id);
`,
  },
  {
    version: 2,
    name: 'call_transcripts',
    sql: `
-- The parent key of a composite foreign key must be unique as a pair; calls.id alone is the
-- primary key, so this index adds no constraint beyond making (account_id, id) referenceable.
CREATE UNIQUE INDEX calls_account_id ON calls(account_id, id);

-- One sealed transcript per call. The composite foreign key means a transcript row of account B
-- can never hang off a call of account A; deleting the call (or its account) deletes it.
CREATE TABLE call_transcripts (
  account_id  TEXT NOT NULL,
  call_id     TEXT NOT NULL,
  sealed      BLOB NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (account_id, call_id),
  FOREIGN KEY (account_id, call_id) REFERENCES calls(account_id, id) ON DELETE CASCADE
) STRICT;
`,
  },
  {
    version: 3,
    name: 'data_keys_usage',
    sql: `
-- A transcript gets a data key of its own, wrapped by the account key. NULL only for transcripts
-- written by schema 2 (sealed directly under the account key) until migration 4 converts them.
ALTER TABLE call_transcripts ADD COLUMN wrapped_key BLOB;

-- The caller, never in clear: a keyed hash (per account) to find a caller's calls, and the From
-- URI sealed under the account key for the operator.
ALTER TABLE calls ADD COLUMN caller_hash BLOB;
ALTER TABLE calls ADD COLUMN caller_sealed BLOB;
CREATE INDEX calls_caller ON calls(account_id, caller_hash) WHERE caller_hash IS NOT NULL;
CREATE INDEX call_transcripts_created ON call_transcripts(account_id, created_at);

-- Usage, apart from content: one row per call, no caller, no content, no foreign key, so erasing
-- a call's content, sweeping its CDR or deleting its account leaves the billing trail whole.
CREATE TABLE call_usage (
  call_id              TEXT PRIMARY KEY,
  account_id           TEXT NOT NULL,
  agent_id             TEXT,
  number_e164          TEXT,
  started_at           TEXT NOT NULL,
  billable_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (billable_seconds >= 0),
  model_audio_in_ms    INTEGER NOT NULL DEFAULT 0 CHECK (model_audio_in_ms >= 0),
  model_audio_out_ms   INTEGER NOT NULL DEFAULT 0 CHECK (model_audio_out_ms >= 0),
  input_tokens         INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens        INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  input_audio_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (input_audio_tokens >= 0),
  output_audio_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (output_audio_tokens >= 0),
  input_text_tokens    INTEGER NOT NULL DEFAULT 0 CHECK (input_text_tokens >= 0),
  output_text_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (output_text_tokens >= 0),
  cached_tokens        INTEGER NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0)
) STRICT;
CREATE INDEX call_usage_account_started ON call_usage(account_id, started_at);
CREATE INDEX call_usage_started ON call_usage(started_at);

-- Recordings (off by default, per agent). The audio is in a file, encrypted with secretstream
-- under the recording's own data key; this row holds that key, wrapped by the account key.
-- Deleting the row destroys the key: whatever of the file lingers cannot be opened.
ALTER TABLE agents ADD COLUMN record_calls INTEGER NOT NULL DEFAULT 0 CHECK (record_calls IN (0, 1));
CREATE TABLE agent_announcements (
  account_id  TEXT NOT NULL,
  agent_id    TEXT NOT NULL,
  pcm24k      BLOB NOT NULL,
  PRIMARY KEY (account_id, agent_id),
  FOREIGN KEY (account_id, agent_id) REFERENCES agents(account_id, id) ON DELETE CASCADE
) STRICT;
CREATE TABLE call_recordings (
  account_id   TEXT NOT NULL,
  call_id      TEXT NOT NULL,
  wrapped_key  BLOB NOT NULL,
  file         TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'failed')),
  failure      TEXT,
  bytes        INTEGER NOT NULL DEFAULT 0,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (account_id, call_id),
  FOREIGN KEY (account_id, call_id) REFERENCES calls(account_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX call_recordings_created ON call_recordings(account_id, created_at);
`,
  },
  {
    version: 4,
    name: 'seal_legacy_call_data',
    // The conversion runs first (run); this SQL then makes the new form the only one possible.
    sql: '',
    run(db, keys) {
      const legacyTranscripts = db
        .prepare(
          `SELECT t.account_id, t.call_id, t.sealed, a.wrapped_key FROM call_transcripts t JOIN accounts a ON a.id = t.account_id
           WHERE t.wrapped_key IS NULL`,
        )
        .all() as Array<{ account_id: string; call_id: string; sealed: Buffer; wrapped_key: Buffer }>;
      const clearCallers = db
        .prepare(`SELECT c.account_id, c.id, c.from_uri, a.wrapped_key FROM calls c JOIN accounts a ON a.id = c.account_id WHERE c.from_uri IS NOT NULL`)
        .all() as Array<{ account_id: string; id: string; from_uri: string; wrapped_key: Buffer }>;
      if ((legacyTranscripts.length > 0 || clearCallers.length > 0) && keys === undefined) {
        throw kalemError(
          'KALEM_ERR_DB_NEEDS_KEY',
          `${legacyTranscripts.length} transcript(s) and ${clearCallers.length} caller number(s) must be re-sealed`,
        );
      }
      const putTranscript = db.prepare('UPDATE call_transcripts SET wrapped_key = ?, sealed = ? WHERE account_id = ? AND call_id = ?');
      for (const r of legacyTranscripts) {
        const t = keys!.transcriptToDataKey(r.account_id, new Uint8Array(r.wrapped_key), r.call_id, new Uint8Array(r.sealed));
        putTranscript.run(Buffer.from(t.wrappedKey), Buffer.from(t.sealed), r.account_id, r.call_id);
      }
      const putCaller = db.prepare('UPDATE calls SET caller_hash = ?, caller_sealed = ?, from_uri = NULL WHERE account_id = ? AND id = ?');
      for (const r of clearCallers) {
        const c = keys!.sealCaller(r.account_id, new Uint8Array(r.wrapped_key), r.id, r.from_uri);
        putCaller.run(Buffer.from(c.hash), Buffer.from(c.sealed), r.account_id, r.id);
      }
      // The clear column goes; the transcript table is rebuilt so a data key is required.
      db.exec(`
ALTER TABLE calls DROP COLUMN from_uri;
CREATE TABLE call_transcripts_v4 (
  account_id   TEXT NOT NULL,
  call_id      TEXT NOT NULL,
  wrapped_key  BLOB NOT NULL,
  sealed       BLOB NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (account_id, call_id),
  FOREIGN KEY (account_id, call_id) REFERENCES calls(account_id, id) ON DELETE CASCADE
) STRICT;
INSERT INTO call_transcripts_v4 (account_id, call_id, wrapped_key, sealed, created_at)
  SELECT account_id, call_id, wrapped_key, sealed, created_at FROM call_transcripts;
DROP TABLE call_transcripts;
ALTER TABLE call_transcripts_v4 RENAME TO call_transcripts;
CREATE INDEX call_transcripts_created ON call_transcripts(account_id, created_at);
`);
    },
  },
  {
    version: 5,
    name: 'knowledge_bases',
    sql: `
-- Knowledge bases (src/kb). Every row carries its account id, and composite foreign keys tie a
-- document to a base of the same account, a chunk to a document of the same account and an agent
-- link to an agent and a base of the same account. Deleting an account, a base or a document
-- cascades to what it owns here; its vectors (outside these tables) are removed by the service.

-- Where an account's vectors live and what made them: one collection per account (a vec0 table or
-- a Qdrant collection), one embedding model and dimension for all of the account's bases.
CREATE TABLE kb_collections (
  account_id  TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  backend     TEXT NOT NULL CHECK (backend IN ('sqlite-vec', 'qdrant')),
  model       TEXT NOT NULL,
  dimension   INTEGER NOT NULL CHECK (dimension > 0),
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE kb_bases (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (account_id, name),
  UNIQUE (account_id, id)
) STRICT;

-- A document is 'pending' while its vectors are being written, 'active' once searchable; a changed
-- document's new version becomes active and the old one is deleted in one transaction.
-- content_hash_sealed: the SHA-256 of the extracted text, sealed (a clear hash would let anyone
-- holding the file confirm a guessed document).
CREATE TABLE kb_documents (
  id                   TEXT PRIMARY KEY,
  account_id           TEXT NOT NULL,
  base_id              TEXT NOT NULL,
  name                 TEXT NOT NULL,
  format               TEXT NOT NULL,
  state                TEXT NOT NULL CHECK (state IN ('pending', 'active')),
  content_hash_sealed  BLOB NOT NULL,
  bytes                INTEGER NOT NULL,
  chunks               INTEGER NOT NULL,
  tokens               INTEGER NOT NULL,
  created_at           TEXT NOT NULL,
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, base_id) REFERENCES kb_bases(account_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX kb_documents_base ON kb_documents(account_id, base_id, name);

-- Chunk text sealed under the account key (AD = account, "kb-chunk:<document>:<seq>"). The
-- integer id is the vector's id in the account's collection.
CREATE TABLE kb_chunks (
  id           INTEGER PRIMARY KEY,
  account_id   TEXT NOT NULL,
  document_id  TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  tokens       INTEGER NOT NULL,
  sealed       BLOB NOT NULL,
  UNIQUE (document_id, seq),
  FOREIGN KEY (account_id, document_id) REFERENCES kb_documents(account_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX kb_chunks_account ON kb_chunks(account_id, id);

CREATE TABLE agent_knowledge_bases (
  account_id  TEXT NOT NULL,
  agent_id    TEXT NOT NULL,
  base_id     TEXT NOT NULL,
  PRIMARY KEY (account_id, agent_id, base_id),
  FOREIGN KEY (account_id, agent_id) REFERENCES agents(account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, base_id) REFERENCES kb_bases(account_id, id) ON DELETE CASCADE
) STRICT;
`,
  },
  {
    version: 6,
    name: 'api_tokens',
    sql: `
-- Admin API bearer tokens. Only SHA-256 of the token is stored (256 random bits: see
-- src/api/tokens/token-secret.ts). account_id NULL = an operator token; an account's tokens go
-- with the account. Revoked tokens stay (revoked_at set) so the audit trail's actor ids resolve.
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  account_id    TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  scopes        TEXT NOT NULL,
  token_hash    BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_at    TEXT NOT NULL,
  expires_at    TEXT,
  revoked_at    TEXT,
  last_used_at  TEXT
) STRICT;
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at IS NULL;
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
