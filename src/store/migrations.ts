/**
 * Numbered schema migrations. Each runs once, in its own transaction, and is recorded in
 * `schema_migrations`. Never edit a migration that has shipped: add the next number.
 * Kept as TypeScript strings (not .sql files) so the built dist/ needs no asset copying.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
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
    version: 7,
    name: 'account_names_nocase',
    sql: `
-- Account names are unique without regard to case ("Acme" and "acme" are one tenant to an
-- operator). A database that already holds two such names stops here with SQLite's constraint
-- error naming this index: rename one of them (kalem account update … --name) and migrate again.
CREATE UNIQUE INDEX accounts_name_nocase ON accounts(name COLLATE NOCASE);
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
