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
}

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

export interface CallRecordEnd {
  answeredAt: string | null;
  endedAt: string;
  endReason: string;
  hangupBy: 'caller' | 'gateway' | null;
  /** Media statistics, counts and timings; never audio or transcript content. */
  details: Record<string, unknown>;
}

export interface CallRepository {
  insert(c: NewCallRecord): void;
  finish(accountId: string, callId: string, end: CallRecordEnd): void;
  /** Newest first. Full records (a CallRecord is a CallRecordSummary and more). */
  list(accountId: string, limit: number): CallRecord[];
  get(accountId: string, callId: string): CallRecord | undefined;
}

/**
 * Sealed call transcripts, one per call. The store sees only the sealed blob; sealing and
 * opening happen in the service through the SecretVault.
 */
export interface TranscriptRepository {
  /** Inserts; a second transcript for the same call is refused (the primary key). */
  put(accountId: string, callId: string, sealed: Uint8Array, createdAt: string): void;
  get(accountId: string, callId: string): Uint8Array | undefined;
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
  /** A small key-value table for store-wide facts (the master-key check value). */
  getMeta(key: string): Uint8Array | undefined;
  setMeta(key: string, value: Uint8Array): void;
}

/** Sealing and opening secrets under an account's key; crypto/keyring implements it. */
export interface SecretVault {
  newWrappedAccountKey(accountId: string): Uint8Array;
  seal(accountId: string, wrappedKey: Uint8Array, name: string, version: number, plaintext: Uint8Array): Uint8Array;
  open(accountId: string, wrappedKey: Uint8Array, name: string, version: number, sealed: Uint8Array): Uint8Array;
  wipe(buf: Uint8Array): void;
}
