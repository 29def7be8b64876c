import { kalemError, KalemError } from '../core/errors.js';
import { accountByRef, wrappedAccountKey } from './account-lookup.js';
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { parseTrunkCidr } from './cidr.js';
import { REALTIME_MODELS, REALTIME_VOICES, SECRET_NAMES } from './realtime-catalog.js';
import { checkCountry, normalizeE164 } from './e164.js';
import {
  DEFAULT_AGENT,
  type Account,
  type AccountStatus,
  type Agent,
  type AuditEntry,
  type PhoneNumber,
  type RetentionSettings,
  type SecretInfo,
  type Trunk,
} from './model.js';
import type { AgentFields, SecretVault, TenantStore } from './ports.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SECRET_NAME_RE = /^[a-z][a-z0-9_.-]{0,63}$/;
const MAX_SECRET_BYTES = 16 * 1024;

export interface AccountInput {
  name: string;
  maxConcurrentCalls?: number | null;
  status?: AccountStatus;
  retention?: Partial<RetentionSettings>;
}

export interface TrunkInput {
  name: string;
  cidrs: string[];
  digestUsername?: string | null;
  /** Read from stdin by the CLI; wiped by the service once sealed. */
  digestPassword?: Uint8Array | null;
  maxConcurrentCalls?: number | null;
  /** 0.0.0.0/0 or ::/0 is refused without it. */
  allowAnySource?: boolean;
}

/** A change to a trunk; absent fields stay as they are. */
export interface TrunkPatch {
  /** Replaces the whole list. */
  cidrs?: string[];
  addCidrs?: string[];
  removeCidrs?: string[];
  allowAnySource?: boolean;
  maxConcurrentCalls?: number | null;
  digestUsername?: string;
  /** A new digest password, swapped in one transaction; wiped by the service. */
  digestPassword?: Uint8Array;
}

export interface ProvisioningOptions {
  /** Models and voices accepted besides the built-in catalogue ([realtime] extra_models/extra_voices). */
  extraModels?: readonly string[];
  extraVoices?: readonly string[];
}

/**
 * Provisioning: every administrative change to tenants, validated, written together with its
 * audit row in one transaction. The CLI and (later) the admin API call this; neither touches the
 * store directly. Accounts are referred to by id or name; everything below an account is looked
 * up inside that account only.
 */
export class ProvisioningService {
  constructor(
    private readonly store: TenantStore,
    private readonly vault: SecretVault,
    private readonly clock: Clock,
    private readonly actor: string,
    private readonly options: ProvisioningOptions = {},
  ) {}

  // ── accounts ──────────────────────────────────────────────────────────────

  createAccount(input: AccountInput): Account {
    checkName('account', input.name);
    const id = newId('acc');
    const at = this.at();
    return this.store.transaction(() => {
      const same = this.store.accounts.findByName(input.name);
      if (same) throw kalemError('KALEM_ERR_DUPLICATE', `an account named "${same.name}" already exists (names are compared without case)`);
      this.store.accounts.insert({
        id,
        name: input.name,
        status: input.status ?? 'active',
        maxConcurrentCalls: checkLimit(input.maxConcurrentCalls ?? null),
        retention: { transcriptsDays: null, recordingsDays: null, cdrDays: null, ...input.retention },
        wrappedKey: this.vault.newWrappedAccountKey(id),
        at,
      });
      this.audit(id, 'account.create', id, { name: input.name });
      return this.store.accounts.get(id)!;
    });
  }

  listAccounts(): Account[] {
    return this.store.accounts.list();
  }

  account(ref: string): Account {
    return accountByRef(this.store.accounts, ref);
  }

  updateAccount(ref: string, patch: Partial<AccountInput>): Account {
    if (patch.name !== undefined) checkName('account', patch.name);
    return this.store.transaction(() => {
      const a = this.account(ref);
      const same = patch.name === undefined ? undefined : this.store.accounts.findByName(patch.name);
      if (same && same.id !== a.id) {
        throw kalemError('KALEM_ERR_DUPLICATE', `an account named "${same.name}" already exists (names are compared without case)`);
      }
      const changes: { -readonly [K in keyof Account]?: Account[K] } = {};
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.status !== undefined) changes.status = patch.status;
      if (patch.maxConcurrentCalls !== undefined) changes.maxConcurrentCalls = checkLimit(patch.maxConcurrentCalls);
      if (patch.retention !== undefined) changes.retention = { ...a.retention, ...patch.retention };
      this.store.accounts.update(a.id, changes, this.at());
      this.audit(a.id, 'account.update', a.id, { fields: Object.keys(changes) });
      return this.store.accounts.get(a.id)!;
    });
  }

  /** Deletes the account and everything it owns; its key goes with it, so nothing sealed survives. */
  deleteAccount(ref: string): void {
    this.store.transaction(() => {
      const a = this.account(ref);
      this.store.accounts.delete(a.id);
      this.audit(a.id, 'account.delete', a.id, { name: a.name });
    });
    // The wrapped key and everything sealed under it were zeroed by secure_delete; checkpointing
    // removes their older copies from the WAL.
    this.store.flushErased();
  }

  // ── agents ────────────────────────────────────────────────────────────────

  /**
   * `extras.recordingAnnouncement`: the prompt played before the agent speaks on recorded calls
   * (mono PCM16, 24 kHz), stored in the same transaction as the agent.
   */
  createAgent(accountRef: string, input: Partial<AgentFields> & { name: string }, extras: AgentExtras = {}): Agent {
    checkName('agent', input.name);
    const fields = this.checkAgent({ ...DEFAULT_AGENT, ...input });
    return this.store.transaction(() => {
      const a = this.account(accountRef);
      if (this.store.agents.findByName(a.id, input.name)) {
        throw kalemError('KALEM_ERR_DUPLICATE', `account ${a.name} already has an agent named "${input.name}"`);
      }
      const id = newId('agt');
      this.store.agents.insert(a.id, id, fields, this.at());
      if (extras.recordingAnnouncement) this.store.agents.setAnnouncement(a.id, id, checkAnnouncement(extras.recordingAnnouncement));
      this.audit(a.id, 'agent.create', id, { name: input.name, kind: fields.kind, ...(extras.recordingAnnouncement ? { recordingAnnouncement: true } : {}) });
      return this.store.agents.get(a.id, id)!;
    });
  }

  agent(accountRef: string, agentRef: string): Agent {
    const a = this.account(accountRef);
    const agent = this.store.agents.get(a.id, agentRef) ?? this.store.agents.findByName(a.id, agentRef);
    if (!agent) throw kalemError('KALEM_ERR_UNKNOWN_AGENT', agentRef, a.name);
    return agent;
  }

  listAgents(accountRef: string): Agent[] {
    return this.store.agents.list(this.account(accountRef).id);
  }

  updateAgent(accountRef: string, agentRef: string, patch: Partial<AgentFields>, extras: AgentExtras = {}): Agent {
    if (patch.name !== undefined) checkName('agent', patch.name);
    return this.store.transaction(() => {
      const cur = this.agent(accountRef, agentRef);
      if (patch.name !== undefined && patch.name !== cur.name && this.store.agents.findByName(cur.accountId, patch.name)) {
        throw kalemError('KALEM_ERR_DUPLICATE', `this account already has an agent named "${patch.name}"`);
      }
      const { id, accountId, createdAt, updatedAt, ...curFields } = cur;
      void createdAt;
      void updatedAt;
      const fields = this.checkAgent({ ...curFields, ...patch });
      this.store.agents.update(accountId, id, fields, this.at());
      if (extras.recordingAnnouncement !== undefined) {
        this.store.agents.setAnnouncement(accountId, id, extras.recordingAnnouncement === null ? null : checkAnnouncement(extras.recordingAnnouncement));
      }
      this.audit(accountId, 'agent.update', id, { fields: [...Object.keys(patch), ...(extras.recordingAnnouncement !== undefined ? ['recordingAnnouncement'] : [])] });
      return this.store.agents.get(accountId, id)!;
    });
  }

  deleteAgent(accountRef: string, agentRef: string): void {
    this.store.transaction(() => {
      const agent = this.agent(accountRef, agentRef);
      const n = this.store.numbers.countForAgent(agent.accountId, agent.id);
      if (n > 0) {
        throw kalemError('KALEM_ERR_IN_USE', `agent ${agent.name} still answers ${n} number(s); remove or move them first`);
      }
      this.store.agents.delete(agent.accountId, agent.id);
      this.audit(agent.accountId, 'agent.delete', agent.id, { name: agent.name });
    });
  }

  // ── numbers ───────────────────────────────────────────────────────────────

  /**
   * Adds numbers all-or-nothing: every number is validated before anything is written, and the
   * inserts run in one transaction, so a bad line or a crash half-way leaves nothing behind.
   */
  addNumbers(accountRef: string, agentRef: string, inputs: string[], defaultCountry?: string): PhoneNumber[] {
    if (inputs.length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'no numbers given');
    const country = defaultCountry === undefined ? undefined : checkCountry(defaultCountry);
    const normalised = inputs.map((raw, i) => {
      try {
        return normalizeE164(raw, country);
      } catch (err) {
        if (err instanceof KalemError && err.code === 'KALEM_ERR_INVALID_E164' && inputs.length > 1) {
          throw kalemError('KALEM_ERR_INVALID_E164', `${raw} (entry ${i + 1}); nothing was added`);
        }
        throw err;
      }
    });
    const dup = normalised.find((n, i) => normalised.indexOf(n) !== i);
    if (dup) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `${dup} is listed twice; nothing was added`);
    return this.store.transaction(() => {
      const agent = this.agent(accountRef, agentRef);
      const at = this.at();
      const added: PhoneNumber[] = [];
      for (const e164 of normalised) {
        // Say that it is taken, never by whom: the owner may be another tenant.
        if (this.store.numbers.exists(e164)) throw kalemError('KALEM_ERR_NUMBER_TAKEN', e164);
        const n: PhoneNumber = { e164, accountId: agent.accountId, agentId: agent.id, createdAt: at };
        this.store.numbers.insert(n);
        added.push(n);
      }
      this.audit(agent.accountId, 'number.add', agent.id, { count: added.length, numbers: normalised.slice(0, 100) });
      return added;
    });
  }

  listNumbers(accountRef: string): PhoneNumber[] {
    return this.store.numbers.list(this.account(accountRef).id);
  }

  /** Moves numbers of an account to another of its agents, all or nothing. */
  moveNumbers(accountRef: string, inputs: string[], agentRef: string, defaultCountry?: string): PhoneNumber[] {
    if (inputs.length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'no numbers given');
    const country = defaultCountry === undefined ? undefined : checkCountry(defaultCountry);
    const normalised = inputs.map((raw) => normalizeE164(raw, country));
    return this.store.transaction(() => {
      const agent = this.agent(accountRef, agentRef);
      const mine = new Map(this.store.numbers.list(agent.accountId).map((n) => [n.e164, n]));
      const moved: PhoneNumber[] = [];
      for (const e164 of normalised) {
        const n = mine.get(e164);
        if (!n) throw kalemError('KALEM_ERR_UNKNOWN_NUMBER', e164, this.account(accountRef).name);
        if (n.agentId === agent.id) continue;
        // Remove and re-add inside the transaction: a concurrent INVITE sees the old agent or the new one.
        this.store.numbers.delete(agent.accountId, e164);
        const next: PhoneNumber = { e164, accountId: agent.accountId, agentId: agent.id, createdAt: n.createdAt };
        this.store.numbers.insert(next);
        moved.push(next);
      }
      this.audit(agent.accountId, 'number.move', agent.id, { count: moved.length, numbers: moved.slice(0, 100).map((n) => n.e164) });
      return moved;
    });
  }

  removeNumber(accountRef: string, raw: string, defaultCountry?: string): void {
    const e164 = normalizeE164(raw, defaultCountry === undefined ? undefined : checkCountry(defaultCountry));
    this.store.transaction(() => {
      const a = this.account(accountRef);
      if (!this.store.numbers.delete(a.id, e164)) throw kalemError('KALEM_ERR_UNKNOWN_NUMBER', e164, a.name);
      this.audit(a.id, 'number.remove', e164, {});
    });
  }

  // ── trunks ────────────────────────────────────────────────────────────────

  addTrunk(accountRef: string, input: TrunkInput): Trunk {
    checkName('trunk', input.name);
    const cidrs = [...new Set(input.cidrs.map((c) => parseTrunkCidr(c, { allowAnySource: input.allowAnySource === true }).text))];
    const username = input.digestUsername ?? null;
    const password = input.digestPassword ?? null;
    try {
      if ((username === null) !== (password === null)) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'digest authentication needs both a username and a password');
      }
      if (username !== null) checkDigestUsername(username);
      if (password !== null) checkDigestPassword(password);
      if (cidrs.length === 0 && username === null) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'a trunk needs at least one --cidr, or digest credentials');
      }
      return this.store.transaction(() => {
        const a = this.account(accountRef);
        if (this.store.trunks.findByName(a.id, input.name)) {
          throw kalemError('KALEM_ERR_DUPLICATE', `account ${a.name} already has a trunk named "${input.name}"`);
        }
        const id = newId('trk');
        const sealed = password && this.vault.seal(a.id, this.wrappedKey(a.id), trunkSecretName(id), 1, password);
        try {
          this.store.trunks.insert({
            id,
            accountId: a.id,
            name: input.name,
            cidrs,
            digestUsername: username,
            sealedDigestPassword: sealed,
            maxConcurrentCalls: checkLimit(input.maxConcurrentCalls ?? null),
            at: this.at(),
          });
        } catch (err) {
          if (String(err).includes('trunks_digest_username') || String(err).includes('trunks.digest_username')) {
            throw kalemError('KALEM_ERR_DUPLICATE', `digest username "${username}" is already used by another trunk`);
          }
          throw err;
        }
        this.audit(a.id, 'trunk.add', id, { name: input.name, cidrs, digest: username !== null });
        return this.store.trunks.get(a.id, id)!;
      });
    } finally {
      if (password) this.vault.wipe(password);
    }
  }

  /**
   * Changes a trunk in place, in one transaction with its audit row. A new digest password is an
   * atomic swap: the daemon opens the sealed password for each INVITE (nothing cached), so the
   * first INVITE after the commit is checked against the new one and calls already up are not
   * touched (digest is checked on the INVITE only). For a carrier that cannot switch at the same
   * moment, see the README: a second digest trunk gives an overlap with no failed call.
   */
  updateTrunk(accountRef: string, trunkRef: string, patch: TrunkPatch): Trunk {
    const password = patch.digestPassword ?? null;
    try {
      const strict = (c: string): string => parseTrunkCidr(c, { allowAnySource: patch.allowAnySource === true }).text;
      const replace = patch.cidrs?.map(strict);
      const add = (patch.addCidrs ?? []).map(strict);
      const remove = (patch.removeCidrs ?? []).map((c) => parseTrunkCidr(c, { allowAnySource: true }).text);
      if (patch.digestUsername !== undefined) checkDigestUsername(patch.digestUsername);
      if (password !== null) checkDigestPassword(password);
      return this.store.transaction(() => {
        const a = this.account(accountRef);
        const t = this.store.trunks.get(a.id, trunkRef) ?? this.store.trunks.findByName(a.id, trunkRef);
        if (!t) throw kalemError('KALEM_ERR_UNKNOWN_TRUNK', trunkRef, a.name);
        const missing = remove.filter((c) => !(replace ?? t.cidrs).includes(c));
        if (missing.length > 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `trunk ${t.name} has no CIDR ${missing.join(', ')}; it has ${t.cidrs.join(', ') || 'none'}`);
        const cidrs = [...new Set([...(replace ?? t.cidrs), ...add])].filter((c) => !remove.includes(c));
        const username = patch.digestUsername ?? t.digestUsername;
        if (username !== null && !t.hasDigestPassword && password === null) {
          throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'a digest username needs a password: add --digest-password');
        }
        if (password !== null && username === null) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'a digest password needs --digest-username');
        if (cidrs.length === 0 && username === null) {
          throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'a trunk needs at least one CIDR, or digest credentials');
        }
        const fields: string[] = [];
        if (replace || add.length > 0 || remove.length > 0) fields.push('cidrs');
        if (patch.maxConcurrentCalls !== undefined) fields.push('maxConcurrentCalls');
        if (patch.digestUsername !== undefined) fields.push('digestUsername');
        if (password !== null) fields.push('digestPassword');
        if (fields.length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'nothing to change; see `kalem trunk update --help`');
        const sealed = password === null ? undefined : this.vault.seal(a.id, this.wrappedKey(a.id), trunkSecretName(t.id), 1, password);
        // Replace the row under the same id (ids are what CDRs and the registry refer to).
        const keptSealed = sealed ?? this.store.trunks.sealedDigestPassword(a.id, t.id) ?? null;
        this.store.trunks.delete(a.id, t.id);
        try {
          this.store.trunks.insert({
            id: t.id,
            accountId: a.id,
            name: t.name,
            cidrs,
            digestUsername: username,
            sealedDigestPassword: keptSealed,
            maxConcurrentCalls: patch.maxConcurrentCalls === undefined ? t.maxConcurrentCalls : checkLimit(patch.maxConcurrentCalls),
            at: t.createdAt,
          });
        } catch (err) {
          if (String(err).includes('digest_username')) throw kalemError('KALEM_ERR_DUPLICATE', `digest username "${username}" is already used by another trunk`);
          throw err;
        }
        this.audit(a.id, 'trunk.update', t.id, { name: t.name, fields, cidrs });
        return this.store.trunks.get(a.id, t.id)!;
      });
    } finally {
      if (password) this.vault.wipe(password);
    }
  }

  listTrunks(accountRef: string): Trunk[] {
    return this.store.trunks.list(this.account(accountRef).id);
  }

  removeTrunk(accountRef: string, trunkRef: string): void {
    this.store.transaction(() => {
      const a = this.account(accountRef);
      const t = this.store.trunks.get(a.id, trunkRef) ?? this.store.trunks.findByName(a.id, trunkRef);
      if (!t) throw kalemError('KALEM_ERR_UNKNOWN_TRUNK', trunkRef, a.name);
      this.store.trunks.delete(a.id, t.id);
      this.audit(a.id, 'trunk.remove', t.id, { name: t.name });
    });
  }

  /** The trunk's digest password, opened for one authentication check; the caller wipes it. */
  openTrunkPassword(accountId: string, trunkId: string): Uint8Array | undefined {
    const sealed = this.store.trunks.sealedDigestPassword(accountId, trunkId);
    return sealed && this.vault.open(accountId, this.wrappedKey(accountId), trunkSecretName(trunkId), 1, sealed);
  }

  // ── secrets ───────────────────────────────────────────────────────────────

  /** Stores a new secret; an existing one must be rotated, not silently replaced. */
  setSecret(accountRef: string, name: string, value: Uint8Array): SecretInfo {
    return this.writeSecret(accountRef, name, value, 'set');
  }

  /** Replaces a secret with a new version and removes the old versions in the same transaction. */
  rotateSecret(accountRef: string, name: string, value: Uint8Array): SecretInfo {
    return this.writeSecret(accountRef, name, value, 'rotate');
  }

  listSecrets(accountRef: string): SecretInfo[] {
    return this.store.secrets.list(this.account(accountRef).id);
  }

  deleteSecret(accountRef: string, name: string): void {
    this.store.transaction(() => {
      const a = this.account(accountRef);
      if (this.store.secrets.deleteAll(a.id, name) === 0) throw kalemError('KALEM_ERR_UNKNOWN_SECRET', name, a.name);
      this.audit(a.id, 'secret.delete', name, {});
    });
    this.store.flushErased();
  }

  /**
   * Opens a secret at the moment it is needed (a call's OpenAI key). The caller wipes the
   * returned bytes as soon as it has used them; nothing here caches the clear value.
   */
  openSecret(accountId: string, name: string): Uint8Array {
    const s = this.store.secrets.latest(accountId, name);
    if (!s) throw kalemError('KALEM_ERR_UNKNOWN_SECRET', name, accountId);
    return this.vault.open(accountId, this.wrappedKey(accountId), name, s.version, s.sealed);
  }

  // ── audit ─────────────────────────────────────────────────────────────────

  /**
   * The audit trail, optionally of one account. A deleted account's trail is kept, so it can be
   * asked for by the id it had, or by the name it had (from its own account.create entry).
   */
  listAudit(accountRef: string | undefined, limit: number): AuditEntry[] {
    const accountId = accountRef === undefined ? undefined : this.auditAccountId(accountRef);
    return this.store.audit.list(accountId === undefined ? { limit } : { accountId, limit });
  }

  /** A page of the audit trail, newest first, below `beforeId` (for the admin API's cursor). */
  auditPage(accountRef: string | undefined, limit: number, beforeId?: number): AuditEntry[] {
    const accountId = accountRef === undefined ? undefined : this.account(accountRef).id;
    return this.store.audit.page({ limit, ...(accountId !== undefined ? { accountId } : {}), ...(beforeId !== undefined ? { beforeId } : {}) });
  }

  /**
   * Which secrets a realtime agent of this account needs and the account lacks (`openai`):
   * the CLI warns when numbers are given to such an agent, before the first call fails.
   */
  missingSecretsForCalls(accountRef: string, agentRef: string): string[] {
    const agent = this.agent(accountRef, agentRef);
    if (agent.kind !== 'realtime') return [];
    return this.store.secrets.latest(agent.accountId, 'openai') ? [] : ['openai'];
  }

  // ── internals ─────────────────────────────────────────────────────────────

  private auditAccountId(ref: string): string {
    const live = this.store.accounts.get(ref) ?? this.store.accounts.findByName(ref);
    if (live) return live.id;
    const trail = this.store.audit.list({ limit: 1_000_000 });
    const byId = trail.find((e) => e.accountId === ref);
    if (byId) return ref;
    const created = trail.find((e) => e.action === 'account.create' && (e.details as { name?: unknown }).name === ref);
    if (created?.accountId) return created.accountId;
    throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', ref);
  }

  private checkAgent(f: AgentFields): AgentFields {
    const models = [...REALTIME_MODELS, ...(this.options.extraModels ?? [])];
    const voices = [...REALTIME_VOICES, ...(this.options.extraVoices ?? [])];
    if (f.kind === 'realtime' && !models.includes(f.model)) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `unknown model "${f.model}"; known: ${models.join(', ')} (add others with [realtime] extra_models)`);
    }
    if (f.kind === 'realtime' && !voices.includes(f.voice)) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `unknown voice "${f.voice}"; known: ${voices.join(', ')} (add others with [realtime] extra_voices)`);
    }
    return checkAgent(f);
  }

  private writeSecret(accountRef: string, name: string, value: Uint8Array, mode: 'set' | 'rotate'): SecretInfo {
    try {
      if (!SECRET_NAME_RE.test(name)) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `secret names are lower-case letters, digits, "_", "." or "-" (got "${name}")`);
      }
      if (!SECRET_NAMES.includes(name)) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `no part of kalem reads a secret named "${name}"; known names: ${SECRET_NAMES.join(', ')}`);
      }
      if (value.length === 0) throw kalemError('KALEM_ERR_SECRET_INPUT', 'the secret value is empty; nothing was stored');
      if (value.length > MAX_SECRET_BYTES) {
        throw kalemError('KALEM_ERR_SECRET_INPUT', `the secret value is over ${MAX_SECRET_BYTES} bytes; nothing was stored`);
      }
      const info = this.store.transaction(() => {
        const a = this.account(accountRef);
        const cur = this.store.secrets.latest(a.id, name);
        if (mode === 'set' && cur) {
          throw kalemError('KALEM_ERR_DUPLICATE', `secret ${name} already exists in account ${a.name}; use \`kalem secret rotate\``);
        }
        if (mode === 'rotate' && !cur) throw kalemError('KALEM_ERR_UNKNOWN_SECRET', name, a.name);
        const version = (cur?.version ?? 0) + 1;
        const at = this.at();
        this.store.secrets.insert(a.id, name, version, this.vault.seal(a.id, this.wrappedKey(a.id), name, version, value), at);
        this.store.secrets.deleteVersionsBelow(a.id, name, version);
        this.audit(a.id, `secret.${mode}`, name, { version });
        return { accountId: a.id, name, version, createdAt: at };
      });
      // A rotated-out version was zeroed by secure_delete; its older copies leave the WAL here.
      if (info.version > 1) this.store.flushErased();
      return info;
    } finally {
      this.vault.wipe(value);
    }
  }

  private wrappedKey(accountId: string): Uint8Array {
    return wrappedAccountKey(this.store.accounts, accountId);
  }

  private audit(accountId: string | null, action: string, target: string, details: Record<string, unknown>): void {
    this.store.audit.append({ at: this.at(), actor: this.actor, accountId, action, target, details });
  }

  private at(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function trunkSecretName(trunkId: string): string {
  return `trunk-digest/${trunkId}`;
}

function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw kalemError(
      'KALEM_ERR_INVALID_ARGUMENT',
      `${what} names are 1-64 letters, digits, "_", "." or "-", starting with a letter or digit (got "${name}")`,
    );
  }
}

function checkDigestUsername(username: string): void {
  if (!/^[A-Za-z0-9_.!~*'()&=+$,;?\/-]{1,64}$/.test(username)) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'digest username may hold 1-64 letters, digits and SIP user characters');
  }
}

function checkDigestPassword(password: Uint8Array): void {
  if (password.length === 0 || password.length > 256) throw kalemError('KALEM_ERR_SECRET_INPUT', 'the digest password must be 1-256 bytes');
}

function checkLimit(n: number | null): number | null {
  if (n !== null && (!Number.isInteger(n) || n < 1)) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `a call limit is a whole number of at least 1 (got ${n})`);
  }
  return n;
}

export interface AgentExtras {
  /** Mono PCM16 at 24 kHz; null removes it (update only). */
  recordingAnnouncement?: Int16Array | null;
}

/** At most 30 s: a consent notice, not a programme. */
const MAX_ANNOUNCEMENT_SAMPLES = 30 * 24_000;

function checkAnnouncement(pcm: Int16Array): Int16Array {
  if (pcm.length === 0 || pcm.length > MAX_ANNOUNCEMENT_SAMPLES) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `a recording announcement is 0 to 30 s of audio (got ${(pcm.length / 24_000).toFixed(1)} s)`);
  }
  return pcm;
}

function checkAgent(f: AgentFields): AgentFields {
  const bad = (msg: string): never => {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', msg);
  };
  if (!['realtime', 'echo'].includes(f.kind)) bad(`agent kind is "realtime" or "echo" (got "${f.kind}")`);
  if (!['pcm16', 'g711'].includes(f.audioMode)) bad(`audio mode is "pcm16" or "g711" (got "${f.audioMode}")`);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(f.model)) bad(`model "${f.model}" is not a model name`);
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(f.voice)) bad(`voice "${f.voice}" is not a voice name`);
  if (f.instructions.length > 32_768) bad('instructions are limited to 32768 characters');
  if (!Number.isInteger(f.maxCallSeconds) || f.maxCallSeconds < 1 || f.maxCallSeconds > 86_400) {
    bad('max call seconds is a whole number between 1 and 86400');
  }
  const td = f.turnDetection;
  if (td.type === 'server_vad') {
    if (!(td.threshold >= 0 && td.threshold <= 1)) bad('VAD threshold is between 0 and 1');
    if (!Number.isInteger(td.prefixPaddingMs) || td.prefixPaddingMs < 0) bad('VAD prefix padding is a whole number of ms');
    if (!Number.isInteger(td.silenceDurationMs) || td.silenceDurationMs < 0) bad('VAD silence duration is a whole number of ms');
  } else if (td.type === 'semantic_vad') {
    if (!['low', 'medium', 'high', 'auto'].includes(td.eagerness)) bad('eagerness is low, medium, high or auto');
  } else {
    bad('turn detection is server_vad or semantic_vad');
  }
  if (f.tools.transferTarget !== null && !/^sips?:[^\s]+$/.test(f.tools.transferTarget)) {
    bad(`transfer target must be a sip: or sips: URI (got "${f.tools.transferTarget}")`);
  }
  for (const w of f.tools.webhooks) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(w.name)) bad(`webhook tool name "${w.name}" is not a valid function name`);
    if (!/^https:\/\//.test(w.url)) bad(`webhook tool ${w.name} must use an https:// URL`);
  }
  return f;
}
