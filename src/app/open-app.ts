import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { systemClock, type Clock } from '../core/clock.js';
import { isKalemError, kalemError } from '../core/errors.js';
import { explainDatabaseOwner } from './startup-errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { loadConfig } from '../config/load.js';
import type { KalemConfig } from '../config/schema.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Sodium } from '../crypto/sodium.js';
import { assertCurrent, migrate, openDatabase, schemaVersion } from '../store/database.js';
import type { MigrationKeys } from '../store/migrations.js';
import { SqliteTenantStore } from '../store/sqlite-tenant-store.js';
import { CallRecordsService } from '../tenancy/call-records-service.js';
import { ProvisioningService } from '../tenancy/provisioning-service.js';
import type { RecordingService } from '../privacy/recording-service.js';
import type { ErasureService } from '../privacy/erasure-service.js';
import type { RetentionService } from '../privacy/retention-service.js';
import type { UsageService } from '../privacy/usage-service.js';
import type { ContentVault, SecretVault } from '../tenancy/ports.js';
import type { DestinationStream } from 'pino';

export interface AppOptions {
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Where logs go (the CLI sends them to stderr so stdout stays for output). */
  logDestination?: DestinationStream;
}

export interface ConfiguredApp {
  readonly config: KalemConfig;
  readonly configPath: string | null;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
}

export interface StoreApp extends ConfiguredApp {
  readonly store: SqliteTenantStore;
  close(): void;
}

export interface ProvisioningApp extends StoreApp {
  readonly keyring: Keyring;
  readonly provisioning: ProvisioningService;
  /** CDRs and sealed transcripts: the call path stores transcripts, operators read them. */
  readonly callRecords: CallRecordsService;
  /** Erasure of one call, one caller, one account (the CLI and the admin API call the same service). */
  readonly erasure: ErasureService;
  /** Retention windows applied on demand (`kalem retention run`); the daemon has its own sweeper. */
  readonly retention: RetentionService;
  /** Usage reports from the usage table (no content, no caller). */
  readonly usage: UsageService;
  /** Recording files: erasure and `kalem calls recording` (decrypt, audited). */
  readonly recordings: RecordingService;
  readonly sodium: Sodium;
  /** Who the audit rows of this process name (config audit.actor, else cli:<unix user>). */
  readonly actor: string;
}

export const MASTER_CHECK_META = 'master_key_check';

/**
 * Step 1: config and logger only (for `keys init`, `doctor`). The logger is made when first
 * used: most CLI commands never log, and pino is a good part of their start-up time.
 */
export function configureApp(opts: AppOptions = {}): ConfiguredApp {
  const env = opts.env ?? process.env;
  const { config, path } = loadConfig({ path: opts.configPath, env });
  let logger: Logger | undefined;
  return {
    config,
    configPath: path,
    get logger(): Logger {
      logger ??= createLogger({
        level: config.log.level,
        ...(opts.logDestination ? { destination: opts.logDestination } : {}),
      });
      return logger;
    },
    env,
    clock: opts.clock ?? systemClock,
  };
}

/**
 * Step 2: the database. A brand-new (empty) database is created at the current schema, so a
 * first `kalem account create` just works; an older non-empty one must be migrated explicitly
 * with `kalem db migrate` (so upgrades are a deliberate step), and a newer one is refused.
 */
export function openStore(app: ConfiguredApp, opts: { migrateNew: boolean } = { migrateNew: true }): StoreApp {
  const path = app.config.store.path;
  const db = openExplained(path, app.config.store.busy_timeout_ms, false);
  try {
    if (opts.migrateNew && schemaVersion(db) === 0) migrate(db, path, () => new Date(app.clock.now()).toISOString());
    assertCurrent(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  const store = new SqliteTenantStore(db);
  return withParts(app, { store, close: () => store.close() });
}

/** openDatabase, with an ownership problem said as such (who owns it, the chown to run). */
function openExplained(path: string, busyTimeoutMs: number, readonly: boolean): ReturnType<typeof openDatabase> {
  try {
    return openDatabase({ path, busyTimeoutMs, readonly });
  } catch (err) {
    throw (isKalemError(err, 'KALEM_ERR_DB_OPEN') && explainDatabaseOwner(path)) || err;
  }
}

/**
 * Copies an app and adds parts, keeping the lazy `logger` getter lazy (a spread would make the
 * logger at once).
 */
function withParts<A extends object, P extends object>(app: A, parts: P): A & P {
  return Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(app), ...Object.getOwnPropertyDescriptors(parts) }) as A & P;
}

/** What read-only commands get: the services' read side, without the master key. */
export interface ReaderApp extends StoreApp {
  readonly provisioning: Pick<
    ProvisioningService,
    'listAccounts' | 'account' | 'agent' | 'listAgents' | 'listNumbers' | 'listTrunks' | 'listSecrets' | 'listAudit'
  >;
  readonly callRecords: Pick<CallRecordsService, 'listCalls' | 'callRecord'>;
}

/**
 * For commands that only read (`list`, `show`): the database opened read-only, so a wrong
 * config or path is an error naming the file instead of a new empty database; no master key
 * and no libsodium, since nothing is sealed or opened.
 */
export function openReader(opts: AppOptions = {}): ReaderApp {
  const app = configureApp(opts);
  const path = app.config.store.path;
  if (!existsSync(path)) throw kalemError('KALEM_ERR_DB_MISSING', path, app.configPath ?? '(none: built-in defaults)');
  const db = openExplained(path, app.config.store.busy_timeout_ms, true);
  try {
    assertCurrent(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  const store = new SqliteTenantStore(db);
  const provisioning = new ProvisioningService(store, NO_VAULT, app.clock, 'reader', catalogOptions(app.config));
  const callRecords = new CallRecordsService(store, NO_VAULT, app.clock, 'reader');
  return withParts(app, { store, provisioning, callRecords, close: () => store.close() });
}

/** The vault of a read-only app: reaching it is a bug (a read command that seals or opens). */
const NO_VAULT: SecretVault & ContentVault = {
  newWrappedAccountKey: refuse,
  seal: refuse,
  open: refuse,
  newDataKey: refuse,
  unwrapDataKey: refuse,
  sealObject: refuse,
  openObject: refuse,
  callerHash: refuse,
  sealCaller: refuse,
  openCaller: refuse,
  wipe: (b) => b.fill(0),
};
function refuse(): never {
  throw new Error('read-only: this command was opened without the master key');
}

/** Step 3: the master key and the services that seal and open secrets. */
export async function openProvisioning(opts: AppOptions = {}): Promise<ProvisioningApp> {
  const configured = configureApp(opts);
  // libsodium and the key files are loaded only by the commands that seal or open something.
  const [{ sodiumReady }, { readMasterKey, masterKeyPath }, { Keyring }] = await Promise.all([
    import('../crypto/sodium.js'),
    import('../crypto/master-key.js'),
    import('../crypto/keyring.js'),
  ]);
  const sodium = await sodiumReady();
  const keySource = {
    file: configured.config.keys.master_key_file,
    credentialsDirectory: configured.env.CREDENTIALS_DIRECTORY,
  };
  const masterKey = readMasterKey(keySource);
  const keyring = new Keyring(sodium, masterKey);
  masterKey.fill(0);
  const app = openStore(configured);
  try {
    checkMasterKey(app.store, keyring, masterKeyPath(keySource).path);
  } catch (err) {
    app.close();
    throw err;
  }
  const actor = configured.config.audit.actor ?? `cli:${safeUser()}`;
  const provisioning = new ProvisioningService(app.store, keyring, app.clock, actor, catalogOptions(configured.config));
  const callRecords = new CallRecordsService(app.store, keyring, app.clock, actor);
  const partial = withParts(app, { keyring, provisioning, callRecords, sodium, actor });
  // Commands unlink erased recording files at once (the daemon's own sweeper unlinks asynchronously).
  // The privacy services (and the recording codecs they reach) load with the commands that open
  // the master key, not with every command (see the lazy pattern in cli/program.ts).
  const [{ recordingService }, { ErasureService }, { RetentionService }, { UsageService }] = await Promise.all([
    import('./recordings.js'),
    import('../privacy/erasure-service.js'),
    import('../privacy/retention-service.js'),
    import('../privacy/usage-service.js'),
  ]);
  const recordings = recordingService(partial, sodium, actor, true);
  const erasure = new ErasureService(app.store, keyring, app.clock, actor, recordings);
  const retention = new RetentionService(app.store, app.clock, actor, recordings);
  const usage = new UsageService(app.store, app.clock);
  return withParts(partial, { erasure, retention, usage, recordings });
}

/**
 * `kalem db migrate`: applies pending migrations. Migrations that re-seal stored call data get
 * the master key when it can be read (and is this database's key); without it, they refuse to
 * run if there is anything to re-seal, and say so.
 */
export async function migrateStore(app: ConfiguredApp): Promise<{ applied: number[]; version: number }> {
  const path = app.config.store.path;
  const db = openDatabase({ path, busyTimeoutMs: app.config.store.busy_timeout_ms });
  try {
    let keys: MigrationKeys | undefined;
    const [{ readMasterKey, masterKeyPath }, { Keyring }] = await Promise.all([import('../crypto/master-key.js'), import('../crypto/keyring.js')]);
    const keySource = { file: app.config.keys.master_key_file, credentialsDirectory: app.env.CREDENTIALS_DIRECTORY };
    let masterKey: Buffer | undefined;
    try {
      masterKey = readMasterKey(keySource);
    } catch (err) {
      if (!isKalemError(err, 'KALEM_ERR_MASTER_KEY_MISSING')) throw err;
    }
    if (masterKey) {
      const { sodiumReady } = await import('../crypto/sodium.js');
      const keyring = new Keyring(await sodiumReady(), masterKey);
      masterKey.fill(0);
      if (schemaVersion(db) >= 1) {
        const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(MASTER_CHECK_META) as { value: Buffer } | undefined;
        if (row && !keyring.verifyMasterCheck(new Uint8Array(row.value))) throw kalemError('KALEM_ERR_MASTER_KEY_MISMATCH', masterKeyPath(keySource).path);
      }
      const { migrationKeys } = await import('../privacy/migration-keys.js');
      keys = migrationKeys(keyring);
    }
    const applied = migrate(db, path, () => new Date(app.clock.now()).toISOString(), keys);
    return { applied, version: schemaVersion(db) };
  } finally {
    db.close();
  }
}

/**
 * The database remembers a value only its master key opens; a different key is refused up
 * front with a clear message, before it can wrap a new account key nobody else could open.
 */
export function checkMasterKey(store: SqliteTenantStore, keyring: Keyring, keyPath: string): void {
  store.transaction(() => {
    const check = store.getMeta(MASTER_CHECK_META);
    if (!check) store.setMeta(MASTER_CHECK_META, keyring.masterCheck());
    else if (!keyring.verifyMasterCheck(check)) throw kalemError('KALEM_ERR_MASTER_KEY_MISMATCH', keyPath);
  });
}

function catalogOptions(config: KalemConfig): { extraModels: readonly string[]; extraVoices: readonly string[] } {
  return { extraModels: config.realtime.extra_models, extraVoices: config.realtime.extra_voices };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
