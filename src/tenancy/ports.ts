import type {
  Account,
  AccountStatus,
  Agent,
  AuditEntry,
  CallRecord,
  PhoneNumber,
  RetentionSettings,
  SecretInfo,
  Trunk,
  UsageRecord,
  UsageTotals,
} from './model.js';

/**
 * Storage ports the tenancy services use; store/ implements them over SQLite. Every method that
 * touches one tenant's data takes that tenant's account id and filters by it in the query itself.
 */

export interface NewAccount {
  id: string;
  name: string;
  status: AccountStatus;
  maxConcurrentCalls: number | null;
  retention: RetentionSettings;
  wrappedKey: Uint8Array;
  at: string;
}

export interface AccountRepository {
  insert(a: NewAccount): void;
  get(accountId: string): Account | undefined;
  findByName(name: string): Account | undefined;
  list(): Account[];
  update(accountId: string, patch: Partial<Pick<Account, 'name' | 'status' | 'maxConcurrentCalls' | 'retention'>>, at: string): void;
  delete(accountId: string): void;
  wrappedKey(accountId: string): Uint8Array | undefined;
  /** Every account's wrapped key, for master-key rotation only. */
  allWrappedKeys(): Array<{ accountId: string; wrappedKey: Uint8Array }>;
  setWrappedKey(accountId: string, wrappedKey: Uint8Array): void;
}

export type AgentFields = Omit<Agent, 'id' | 'accountId' | 'createdAt' | 'updatedAt'>;

export interface AgentRepository {
  insert(accountId: string, id: string, fields: AgentFields, at: string): void;
  get(accountId: string, agentId: string): Agent | undefined;
  findByName(accountId: string, name: string): Agent | undefined;
  list(accountId: string): Agent[];
  update(accountId: string, agentId: string, fields: AgentFields, at: string): void;
  delete(accountId: string, agentId: string): void;
  /** The recording announcement (mono PCM16 at 24 kHz), or undefined. */
  announcement(accountId: string, agentId: string): Int16Array | undefined;
  /** Sets (or with null removes) the recording announcement. */
  setAnnouncement(accountId: string, agentId: string, pcm24k: Int16Array | null): void;
}

export interface NumberRepository {
  insert(n: PhoneNumber): void;
  /** The owner of a number, or undefined; used to refuse duplicates without revealing the owner. */
  exists(e164: string): boolean;
  get(accountId: string, e164: string): PhoneNumber | undefined;
  list(accountId: string): PhoneNumber[];
  countForAgent(accountId: string, agentId: string): number;
  delete(accountId: string, e164: string): boolean;
  /** DID routing: the account and agent a dialled number belongs to. */
  resolve(e164: string): { accountId: string; agentId: string } | undefined;
}

export interface NewTrunk {
  id: string;
  accountId: string;
  name: string;
  cidrs: string[];
  digestUsername: string | null;
  sealedDigestPassword: Uint8Array | null;
  maxConcurrentCalls: number | null;
  at: string;
}

export interface TrunkRepository {
  insert(t: NewTrunk): void;
  get(accountId: string, trunkId: string): Trunk | undefined;
  findByName(accountId: string, name: string): Trunk | undefined;
  list(accountId: string): Trunk[];
  delete(accountId: string, trunkId: string): boolean;
  sealedDigestPassword(accountId: string, trunkId: string): Uint8Array | undefined;
  /** Every trunk of every account (disabled ones too: they get 403), for identifying the trunk a request came from. */
  listForRouting(): Trunk[];
}

export interface SecretRepository {
  insert(accountId: string, name: string, version: number, sealed: Uint8Array, at: string): void;
  latest(accountId: string, name: string): (SecretInfo & { sealed: Uint8Array }) | undefined;
  list(accountId: string): SecretInfo[];
  deleteVersionsBelow(accountId: string, name: string, version: number): void;
  deleteAll(accountId: string, name: string): number;
}

export interface NewAuditEntry {
  at: string;
  actor: string;
  accountId: string | null;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

export interface AuditRepository {
  append(e: NewAuditEntry): void;
  list(filter: { accountId?: string; limit: number }): AuditEntry[];
  /** Newest first, entries with an id below `beforeId` (the admin API's cursor). */
  page(filter: { accountId?: string; limit: number; beforeId?: number }): AuditEntry[];
}

/** A call as the call path starts it; the service turns `fromUri` into a keyed hash and a sealed value. */
export interface NewCallRecord {
  id: string;
  accountId: string;
  agentId: string;
  trunkId: string | null;
  numberE164: string;
  sipCallId: string;
  fromUri: string;
  startedAt: string;
}

/** A call row as stored: the caller only as a keyed hash (for lookup) and sealed (for display). */
export interface StoredCallStart extends Omit<NewCallRecord, 'fromUri'> {
  callerHash: Uint8Array | null;
  callerSealed: Uint8Array | null;
}

export interface CallRecordEnd {
  answeredAt: string | null;
  endedAt: string;
  endReason: string;
  hangupBy: 'caller' | 'gateway' | null;
  /** Media statistics, counts and timings; never audio or transcript content. */
  details: Record<string, unknown>;
}

/** A stored call record: the caller still sealed (the service opens it for display). */
export type StoredCallRecord = Omit<CallRecord, 'fromUri'> & { readonly callerSealed: Uint8Array | null };

/** What the call path writes (CallSession's port); CallRecordsService implements it. */
export interface CdrWriter {
  insert(c: NewCallRecord): void;
  finish(accountId: string, callId: string, end: CallRecordEnd): void;
}

export interface CallRepository {
  insert(c: StoredCallStart): void;
  finish(accountId: string, callId: string, end: CallRecordEnd): void;
  /** Newest first. */
  list(accountId: string, limit: number): StoredCallRecord[];
  get(accountId: string, callId: string): StoredCallRecord | undefined;
  /** Ids of the account's calls whose caller has this keyed hash. */
  findByCallerHash(accountId: string, callerHash: Uint8Array): string[];
  /** Removes the caller fields of one call; returns 1 when there was something to remove. */
  eraseCaller(accountId: string, callId: string): number;
  /** Ids of every call of the account (for erasing an account). */
  ids(accountId: string): string[];
  /** Up to `limit` ids of ended calls that started before `before` (ISO time), oldest first. */
  startedBefore(accountId: string, before: string, limit: number): string[];
  /** Deletes CDRs (their transcripts and recordings cascade); returns how many. */
  delete(accountId: string, callIds: readonly string[]): number;
  /** Newest first (started_at, then id, both descending), filtered; for the admin API. */
  find(accountId: string, filter: CallFilter): StoredCallRecord[];
}

/** A filtered page of CDRs. Times are ISO 8601; `before` is the key of the last record seen. */
export interface CallFilter {
  since?: string;
  until?: string;
  numberE164?: string;
  outcome?: 'answered' | 'unanswered';
  before?: { startedAt: string; id: string };
  limit: number;
}

/** A stored transcript: its wrapped data key and the transcript sealed under that key. */
export interface StoredTranscript {
  readonly wrappedKey: Uint8Array;
  readonly sealed: Uint8Array;
}

/**
 * Sealed call transcripts, one per call. The store sees only opaque blobs; sealing and opening
 * happen in the service.
 */
export interface TranscriptRepository {
  /** Inserts; a second transcript for the same call is refused (the primary key). */
  put(accountId: string, callId: string, t: StoredTranscript, createdAt: string): void;
  get(accountId: string, callId: string): StoredTranscript | undefined;
  /** Deletes one call's transcript (its wrapped key with it); returns 1 or 0. */
  delete(accountId: string, callId: string): number;
  /** Up to `limit` call ids whose transcript was stored before `before`, oldest first. */
  createdBefore(accountId: string, before: string, limit: number): string[];
}

/** A recording's row: its wrapped data key and where its encrypted file is. */
export interface StoredRecording {
  readonly accountId: string;
  readonly callId: string;
  readonly wrappedKey: Uint8Array;
  /** Path relative to the recordings directory. */
  readonly file: string;
  readonly status: 'recording' | 'complete' | 'failed';
  readonly failure: string | null;
  readonly bytes: number;
  readonly createdAt: string;
}

export interface RecordingRepository {
  insert(r: Omit<StoredRecording, 'status' | 'failure' | 'bytes'>): void;
  finish(accountId: string, callId: string, status: 'complete' | 'failed', failure: string | null, bytes: number): void;
  get(accountId: string, callId: string): StoredRecording | undefined;
  /** Deletes these calls' recording rows (their wrapped keys); returns the files they named. */
  delete(accountId: string, callIds: readonly string[]): string[];
  /** Up to `limit` call ids whose recording started before `before`, oldest first. */
  createdBefore(accountId: string, before: string, limit: number): string[];
}

/** Usage rows, one per call, apart from content (no foreign key: they outlive CDRs and accounts). */
export interface UsageRepository {
  /** Writes (or rewrites) the usage row of a call. */
  put(u: UsageRecord): void;
  /** The account's calls that started in [from, to), oldest first. */
  list(accountId: string, from: string, to: string): UsageRecord[];
  /** Totals per account over [from, to). */
  totals(from: string, to: string): UsageTotals[];
}

/** The whole store as the services see it. */
export interface TenantStore {
  /** Runs `fn` in one database transaction (BEGIN IMMEDIATE); a throw rolls everything back. */
  transaction<T>(fn: () => T): T;
  readonly accounts: AccountRepository;
  readonly agents: AgentRepository;
  readonly numbers: NumberRepository;
  readonly trunks: TrunkRepository;
  readonly secrets: SecretRepository;
  readonly audit: AuditRepository;
  readonly calls: CallRepository;
  readonly transcripts: TranscriptRepository;
  readonly usage: UsageRepository;
  readonly recordings: RecordingRepository;
  /**
   * After an erasure: checkpoints the WAL and truncates it, so deleted pages (zeroed in the
   * database by secure_delete) do not live on as older frames in the WAL. `busy` when a reader
   * kept part of the WAL from being checkpointed (the caller may retry).
   */
  flushErased(): { busy: boolean };
  /** A small key-value table for store-wide facts (the master-key check value). */
  getMeta(key: string): Uint8Array | undefined;
  setMeta(key: string, value: Uint8Array): void;
}

/** Data keys, sealed objects and caller hashes under an account's key; crypto/keyring implements it. */
export interface ContentVault {
  newDataKey(accountId: string, wrappedAccountKey: Uint8Array, callId: string, kind: 'transcript' | 'recording'): { key: Uint8Array; wrapped: Uint8Array };
  unwrapDataKey(accountId: string, wrappedAccountKey: Uint8Array, callId: string, kind: 'transcript' | 'recording', wrapped: Uint8Array): Uint8Array | null;
  sealObject(dataKey: Uint8Array, accountId: string, callId: string, kind: 'transcript' | 'recording', plaintext: Uint8Array): Uint8Array;
  openObject(dataKey: Uint8Array, accountId: string, callId: string, kind: 'transcript' | 'recording', sealed: Uint8Array): Uint8Array | null;
  callerHash(accountId: string, wrappedAccountKey: Uint8Array, number: string): Uint8Array;
  sealCaller(accountId: string, wrappedAccountKey: Uint8Array, callId: string, fromUri: string): Uint8Array;
  openCaller(accountId: string, wrappedAccountKey: Uint8Array, callId: string, sealed: Uint8Array): string | null;
  wipe(buf: Uint8Array): void;
}

/** Sealing and opening secrets under an account's key; crypto/keyring implements it. */
export interface SecretVault {
  newWrappedAccountKey(accountId: string): Uint8Array;
  seal(accountId: string, wrappedKey: Uint8Array, name: string, version: number, plaintext: Uint8Array): Uint8Array;
  open(accountId: string, wrappedKey: Uint8Array, name: string, version: number, sealed: Uint8Array): Uint8Array;
  wipe(buf: Uint8Array): void;
}
