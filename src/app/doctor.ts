import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { accessSync, constants, existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { isKalemError } from '../core/errors.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { KalemConfig } from '../config/schema.js';
import { Keyring } from '../crypto/keyring.js';
import { masterKeyPath, readMasterKey, type MasterKeySource } from '../crypto/master-key.js';
import { FDS_PER_CALL, FD_HEADROOM, openFileLimit, requiredFileDescriptors } from './capacity.js';
import { sodiumReady } from '../crypto/sodium.js';
import { integrityCheck, openDatabase, schemaVersion } from '../store/database.js';
import { LATEST_SCHEMA_VERSION } from '../store/migrations.js';
import { SqliteTenantStore } from '../store/sqlite-tenant-store.js';
import { MASTER_CHECK_META } from './open-app.js';
import { findPortHolder, isKalemDaemon, type PortHolder } from './port-holder.js';

/**
 * `kalem doctor`: checks an installation and explains each finding in one line with a fix. It
 * only reads: the database is opened read-only, ports are bound and released at once, rtpengine
 * gets a `ping`. `fail` means kalem will not run (or not safely); `warn` means it runs but
 * something deserves a look. Warnings do not fail the report.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it (absent when there is nothing to do). */
  fix?: string;
}

export interface DoctorReport {
  /** False when any check failed. */
  ok: boolean;
  configPath: string;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** `--config`; else $KALEM_CONFIG, else /etc/kalem/kalem.toml. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** rtpengine's ng control address "host:port"; default `rtpengine.ng_address` from config. */
  rtpengineNgAddress?: string | undefined;
  /** How long to wait for rtpengine's pong (default 1000 ms). */
  rtpengineTimeoutMs?: number;
  /** The ops HTTP listener; default `[api] listen_address`/`port` from config (127.0.0.1:9090). */
  api?: { listenAddress: string; port: number } | undefined;
  /** Wall clock for certificate validity (tests move it). */
  now?: () => number;
  /** Where the process limits are read (Linux /proc). */
  limitsFile?: string;
  /** Whether the system clock is NTP-synchronised; undefined = cannot tell. */
  clockSynchronized?: () => Promise<boolean | undefined>;
}

/** A certificate ending sooner than this is a warning. */
export const CERT_WARN_DAYS = 14;
/** File descriptors per call: the carrier-side RTP/RTCP stays in rtpengine, ours is one UDP socket, plus Realtime's TLS socket and slack. */

const DAY_MS = 86_400_000;

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const configPath = resolveConfigPath({ path: opts.configPath, env }).path;
  const checks: DoctorCheck[] = [];

  let config: KalemConfig;
  try {
    const loaded = loadConfig({ path: opts.configPath, env });
    config = loaded.config;
    checks.push(
      loaded.path === null
        ? {
            name: 'config',
            status: 'warn',
            detail: `no config file at ${configPath}; running on built-in defaults`,
            fix: `copy config/kalem.example.toml to ${configPath} and edit it`,
          }
        : { name: 'config', status: 'ok', detail: `${loaded.path} is valid` },
    );
  } catch (err) {
    checks.push({
      name: 'config',
      status: 'fail',
      detail: `${errorText(err)} (the other checks need a valid config)`,
      fix: `edit ${configPath}; every key is explained in config/kalem.example.toml (\`kalem config example\` prints them all)`,
    });
    return { ok: false, configPath, checks };
  }

  const pending = pendingSettings(config);
  const keySource: MasterKeySource = { file: config.keys.master_key_file, credentialsDirectory: env.CREDENTIALS_DIRECTORY };
  checks.push(await checkMasterKey(keySource, config));
  checks.push(checkDatabase(config));
  checks.push(checkTls(config, opts.now?.() ?? Date.now()));
  checks.push(
    opts.rtpengineNgAddress === undefined && config.rtpengine.mode !== 'external'
      ? checkLocalRtpengine(config)
      : await checkRtpengine(opts.rtpengineNgAddress ?? pending.ngAddress, opts.rtpengineTimeoutMs ?? 1000),
  );
  checks.push(checkCarrierMedia(config));
  checks.push(await checkPorts(config, opts.api ?? pending.api));
  checks.push(checkOpenFiles(config, opts.limitsFile ?? '/proc/self/limits'));
  checks.push(await checkClock(opts.clockSynchronized ?? ntpSynchronized));
  return { ok: checks.every((c) => c.status !== 'fail'), configPath, checks };
}

function pendingSettings(config: KalemConfig): { api: { listenAddress: string; port: number }; ngAddress: string | undefined } {
  return {
    api: { listenAddress: config.api.listen_address, port: config.api.port },
    ngAddress: config.rtpengine.ng_address ?? undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// master key

async function checkMasterKey(src: MasterKeySource, config: KalemConfig): Promise<DoctorCheck> {
  const name = 'master-key';
  const { path, viaCredentials } = masterKeyPath(src);
  const systemdNote = viaCredentials
    ? ' (from $CREDENTIALS_DIRECTORY: systemd LoadCredential=)'
    : '; under systemd the service reads $CREDENTIALS_DIRECTORY/master.key instead (LoadCredential=)';
  let key: Buffer;
  try {
    // The same checks the daemon makes; doctor only explains their outcome.
    key = readMasterKey(src);
  } catch (err) {
    return { name, status: 'fail', detail: errorText(err), fix: masterKeyFix(err, path) };
  }
  try {
    const st = statSync(path);
    const base = `${path} mode ${modeText(st.mode)}, owner uid ${st.uid}${systemdNote}`;
    const match = await keyMatchesDatabase(key, config);
    if (match === false) {
      return {
        name,
        status: 'fail',
        detail: `${path}${viaCredentials ? ' (from $CREDENTIALS_DIRECTORY)' : ''} is not the key ${config.store.path} was sealed with`,
        fix: 'point [keys] master_key_file (or LoadCredential=master.key:…) at the key this database was created with',
      };
    }
    return { name, status: 'ok', detail: match ? `${base}; opens ${config.store.path}` : base };
  } finally {
    key.fill(0);
  }
}

/** True/false when the database holds a master-key check value; undefined when it cannot tell. */
async function keyMatchesDatabase(key: Buffer, config: KalemConfig): Promise<boolean | undefined> {
  if (!existsSync(config.store.path)) return undefined;
  let store: SqliteTenantStore | undefined;
  try {
    const db = openDatabase({ path: config.store.path, busyTimeoutMs: config.store.busy_timeout_ms, readonly: true });
    store = new SqliteTenantStore(db);
    if (schemaVersion(db) === 0) return undefined;
    const check = store.getMeta(MASTER_CHECK_META);
    if (!check) return undefined;
    return new Keyring(await sodiumReady(), key).verifyMasterCheck(check);
  } catch {
    return undefined; // the database check reports what is wrong with the database
  } finally {
    store?.close();
  }
}

function masterKeyFix(err: unknown, path: string): string {
  if (isKalemError(err, 'KALEM_ERR_MASTER_KEY_MISSING')) {
    return `create it with \`kalem keys init\` (or restore it from your backup), or point [keys] master_key_file at it`;
  }
  if (isKalemError(err, 'KALEM_ERR_MASTER_KEY_INVALID')) {
    return 'restore the key from your backup; a new key cannot open what the old one sealed';
  }
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return `make ${path} a readable regular file`;
  }
  if (st.isSymbolicLink()) return `replace the symbolic link ${path} with the key file itself (mode 0600)`;
  if ((st.mode & 0o077) !== 0) return `chmod 600 ${path}`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    return `run doctor as the user kalem runs as (e.g. \`sudo -u kalem kalem doctor\`), or \`chown <that user> ${path}\``;
  }
  return `check that ${path} is a regular file readable by the user running kalem`;
}

// ---------------------------------------------------------------------------------------------
// database

function checkDatabase(config: KalemConfig): DoctorCheck {
  const name = 'database';
  const path = config.store.path;
  if (!existsSync(path)) {
    return {
      name,
      status: 'warn',
      detail: `${path} does not exist yet; it is created on first use (at schema version ${LATEST_SCHEMA_VERSION})`,
      fix: 'nothing to do on a new install; otherwise check [store] path',
    };
  }
  let db;
  try {
    db = openDatabase({ path, busyTimeoutMs: config.store.busy_timeout_ms, readonly: true });
  } catch (err) {
    return { name, status: 'fail', detail: errorText(err), fix: `check that ${path} is a SQLite file readable by this user` };
  }
  try {
    const version = schemaVersion(db);
    const problems = integrityCheck(db);
    if (problems.length > 0) {
      return {
        name,
        status: 'fail',
        detail: `${path} integrity check failed: ${problems.slice(0, 3).join('; ')}`,
        fix: 'stop kalem and restore the database from your latest backup (see README, Operations: backup)',
      };
    }
    if (version > LATEST_SCHEMA_VERSION) {
      return {
        name,
        status: 'fail',
        detail: `${path} is at schema version ${version}, newer than this kalem (${LATEST_SCHEMA_VERSION})`,
        fix: 'upgrade kalem to the version that wrote this database',
      };
    }
    if (version > 0 && version < LATEST_SCHEMA_VERSION) {
      return {
        name,
        status: 'fail',
        detail: `${path} is at schema version ${version}, expected ${LATEST_SCHEMA_VERSION}`,
        fix: 'back up the database, then run `kalem db migrate`',
      };
    }
    const mode = statSync(path).mode;
    const state = version === 0 ? 'empty (migrated on first use)' : `schema version ${version}`;
    if ((mode & 0o077) !== 0) {
      return {
        name,
        status: 'warn',
        detail: `${path} passes integrity_check, ${state}, but its mode is ${modeText(mode)}`,
        fix: `chmod 600 ${path} (and its -wal and -shm files)`,
      };
    }
    return { name, status: 'ok', detail: `${path} passes integrity_check, ${state}` };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// TLS certificate

function checkTls(config: KalemConfig, nowMs: number): DoctorCheck {
  const name = 'tls';
  const certPath = config.sip.tls_cert_file;
  const keyPath = config.sip.tls_key_file;
  if (!certPath && !keyPath) {
    return {
      name,
      status: 'warn',
      detail: 'SIP over TLS is off: sip.tls_cert_file and sip.tls_key_file are not set, so signalling travels in clear',
      fix: 'set sip.tls_cert_file and sip.tls_key_file (PEM) and offer your carriers sips:/TLS on sip.tls_port',
    };
  }
  if (!certPath || !keyPath) {
    return {
      name,
      status: 'fail',
      detail: `only ${certPath ? 'sip.tls_cert_file' : 'sip.tls_key_file'} is set; TLS needs both`,
      fix: `set ${certPath ? 'sip.tls_key_file' : 'sip.tls_cert_file'} too`,
    };
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certPath));
  } catch (err) {
    return { name, status: 'fail', detail: `${certPath}: ${errorText(err)}`, fix: `put a PEM certificate chain (server certificate first) in ${certPath}` };
  }
  const subject = cert.subject.replace(/\n/g, ', ');
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const renew = 'renew the certificate, then `systemctl reload kalem` (SIGHUP re-reads it without dropping calls)';
  if (nowMs > notAfter) {
    return { name, status: 'fail', detail: `${certPath} (${subject}) expired on ${iso(notAfter)}`, fix: renew };
  }
  if (nowMs < notBefore) {
    return {
      name,
      status: 'fail',
      detail: `${certPath} (${subject}) is not valid before ${iso(notBefore)}`,
      fix: 'check the system clock, or wait for the certificate to become valid',
    };
  }
  try {
    const key = createPrivateKey(readFileSync(keyPath));
    if (!cert.checkPrivateKey(key)) {
      return {
        name,
        status: 'fail',
        detail: `${keyPath} is not the private key of ${certPath} (${subject})`,
        fix: 'point sip.tls_key_file at the key the certificate was issued for',
      };
    }
  } catch (err) {
    return { name, status: 'fail', detail: `${keyPath}: ${errorText(err)}`, fix: `put the PEM private key of ${certPath} in ${keyPath}` };
  }
  const days = Math.floor((notAfter - nowMs) / DAY_MS);
  const selfSigned = cert.issuer === cert.subject ? ', self-signed' : '';
  const detail = `${certPath} (${subject}${selfSigned}) valid until ${iso(notAfter)}, ${days} day(s) left`;
  if (days < CERT_WARN_DAYS) return { name, status: 'warn', detail, fix: renew };
  const keyMode = statSync(keyPath).mode;
  if ((keyMode & 0o007) !== 0) {
    return { name, status: 'warn', detail: `${detail}; but ${keyPath} is readable by everyone (mode ${modeText(keyMode)})`, fix: `chmod 600 ${keyPath}` };
  }
  return { name, status: 'ok', detail };
}

// ---------------------------------------------------------------------------------------------
// rtpengine

/** managed: the daemon starts rtpengine itself, so the binary must be there; off: nothing to check. */
function checkLocalRtpengine(config: KalemConfig): DoctorCheck {
  const name = 'rtpengine';
  if (config.rtpengine.mode === 'off') return { name, status: 'ok', detail: 'rtpengine.mode = "off": media without rtpengine (plain RTP only)' };
  const bin = config.rtpengine.binary;
  try {
    accessSync(bin, constants.X_OK);
    return { name, status: 'ok', detail: `managed: the daemon starts ${bin} itself` };
  } catch {
    return { name, status: 'fail', detail: `managed: ${bin} is missing or not executable`, fix: 'apt-get install rtpengine-daemon (make setup does), or set rtpengine.binary' };
  }
}

async function checkRtpengine(address: string | undefined, timeoutMs: number): Promise<DoctorCheck> {
  const name = 'rtpengine';
  if (!address) {
    return {
      name,
      status: 'warn',
      detail: 'no rtpengine ng address configured; not checked',
      fix: 'set rtpengine.ng_address (e.g. "127.0.0.1:2223", the listen-ng of config/rtpengine.conf)',
    };
  }
  try {
    const ms = await rtpenginePing(address, timeoutMs);
    return { name, status: 'ok', detail: `${address} answered ping with pong in ${ms} ms` };
  } catch (err) {
    return {
      name,
      status: 'fail',
      detail: `${address}: ${errorText(err)}`,
      fix: 'start it (`systemctl start rtpengine-daemon`) and check that its listen-ng matches rtpengine.ng_address',
    };
  }
}

/**
 * One ng-protocol `ping`: "<cookie> d7:command4:pinge" in a UDP datagram; rtpengine answers
 * "<cookie> d6:result4:ponge". Sent twice (at once and at a third of the timeout) so one lost
 * datagram does not fail the check. Resolves with the round trip in milliseconds.
 */
export function rtpenginePing(address: string, timeoutMs = 1000): Promise<number> {
  const { host, port } = splitHostPort(address);
  const cookie = randomBytes(8).toString('hex');
  const message = Buffer.from(`${cookie} d7:command4:pinge`);
  const started = performance.now();
  return new Promise<number>((resolve, reject) => {
    const socket: UdpSocket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const done = (err: Error | null, ms?: number): void => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      socket.close();
      if (err) reject(err);
      else resolve(ms!);
    };
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(new Error(err.code === 'ECONNREFUSED' ? 'connection refused: nothing listens there' : err.message)),
    );
    socket.on('message', (msg) => {
      const text = msg.toString('latin1');
      if (!text.startsWith(`${cookie} `)) return; // a stray or late reply to someone else
      const reply = decodeBencodeDict(text.slice(cookie.length + 1));
      if (reply?.result === 'pong') done(null, Math.round(performance.now() - started));
      else done(new Error(`unexpected reply ${JSON.stringify(text.slice(cookie.length + 1, cookie.length + 81))}`));
    });
    // connect() makes an ICMP port-unreachable surface as ECONNREFUSED instead of a silent timeout.
    socket.connect(port, host, () => {
      const send = (): void => socket.send(message, (err) => err && done(err));
      send();
      timers.push(setTimeout(send, Math.max(1, Math.floor(timeoutMs / 3))));
    });
    timers.push(setTimeout(() => done(new Error(`no answer to ping within ${timeoutMs} ms`)), timeoutMs));
  });
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new TypeError(`expected "host:port" or "[v6]:port", got "${address}"`);
  return { host: m[1]!, port };
}

/** Just enough bencode for ng replies: a top-level dictionary of strings, integers, lists, dicts. */
function decodeBencodeDict(text: string): Record<string, unknown> | undefined {
  let i = 0;
  const value = (): unknown => {
    const c = text[i];
    if (c === 'i') {
      const end = text.indexOf('e', i);
      if (end < 0) throw new Error('bad int');
      const n = Number(text.slice(i + 1, end));
      i = end + 1;
      return n;
    }
    if (c === 'l' || c === 'd') {
      i++;
      const items: unknown[] = [];
      while (text[i] !== 'e') {
        if (i >= text.length) throw new Error('unterminated');
        items.push(value());
      }
      i++;
      if (c === 'l') return items;
      const dict: Record<string, unknown> = {};
      for (let k = 0; k + 1 < items.length; k += 2) dict[String(items[k])] = items[k + 1];
      return dict;
    }
    const colon = text.indexOf(':', i);
    const len = Number(text.slice(i, colon));
    if (colon < 0 || !Number.isInteger(len) || len < 0) throw new Error('bad string');
    const s = text.slice(colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return s;
  };
  try {
    const v = value();
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// media: which port range faces the carrier (the firewall's question)

/**
 * Which UDP range carriers send media to depends on the rtpengine mode: behind rtpengine
 * (managed, the default, or external) it is rtpengine's range and the daemon's [media] range
 * stays on loopback; only with rtpengine.mode = "off" does the carrier reach [media] itself.
 */
export function carrierMediaRange(config: KalemConfig): { address: string; range: string; setting: string } {
  const r = config.rtpengine;
  const m = config.media;
  if (r.mode === 'managed') {
    const listen = config.sip.listen_address;
    const iface = r.interface_address ?? (isIP(listen) && listen !== '0.0.0.0' && listen !== '::' ? listen : '127.0.0.1');
    return { address: iface.split('!')[0]!, range: `${r.port_min}-${r.port_max}`, setting: 'rtpengine.port_min..port_max' };
  }
  if (r.mode === 'external') return { address: 'the external rtpengine', range: "its own port-min..port-max (config/rtpengine.conf: 30000-39999)", setting: 'rtpengine.conf' };
  return { address: m.public_address ?? m.address, range: `${m.port_min}-${m.port_max}`, setting: 'media.port_min..port_max' };
}

function checkCarrierMedia(config: KalemConfig): DoctorCheck {
  const name = 'media-ports';
  const c = carrierMediaRange(config);
  const inner =
    config.rtpengine.mode === 'off'
      ? ''
      : `; the daemon's own [media] ${config.media.port_min}-${config.media.port_max} stays on 127.0.0.1 (rtpengine's side only, not for the firewall)`;
  const detail = `carriers send RTP/SRTP to ${c.address} udp ${c.range} (${c.setting}): open that range to your carriers${inner}`;
  if (config.rtpengine.mode === 'managed' && c.address === '127.0.0.1' && config.sip.listen_address !== '127.0.0.1') {
    return { name, status: 'warn', detail, fix: 'set rtpengine.interface_address to the address carriers reach: media anchored on 127.0.0.1 gets no audio from outside' };
  }
  return { name, status: 'ok', detail };
}

// ---------------------------------------------------------------------------------------------
// ports

interface PortWanted {
  what: string;
  proto: 'udp' | 'tcp';
  host: string;
  port: number;
}

async function checkPorts(config: KalemConfig, api: { listenAddress: string; port: number }): Promise<DoctorCheck> {
  const name = 'ports';
  const sip = config.sip;
  const wanted: PortWanted[] = [];
  // 0 = any free port and -1 = disabled: nothing to check for either.
  if (sip.engine === 'embedded') {
    if (sip.udp_port > 0) wanted.push({ what: 'sip.udp_port', proto: 'udp', host: sip.listen_address, port: sip.udp_port });
    if (sip.tcp_port > 0) wanted.push({ what: 'sip.tcp_port', proto: 'tcp', host: sip.listen_address, port: sip.tcp_port });
    if (sip.tls_port > 0 && sip.tls_cert_file && sip.tls_key_file) {
      wanted.push({ what: 'sip.tls_port', proto: 'tcp', host: sip.listen_address, port: sip.tls_port });
    }
  }
  if (api.port > 0) wanted.push({ what: 'api.port', proto: 'tcp', host: api.listenAddress, port: api.port });
  if (wanted.length === 0) return { name, status: 'ok', detail: 'no fixed ports configured' };

  const results = await Promise.all(wanted.map(async (w) => ({ w, code: await tryBind(w) })));
  const label = (w: PortWanted): string => `${w.proto} ${hostPort(w.host, w.port)} (${w.what})`;
  // A port held by a running `kalem serve` is where it should be: doctor on a live gateway.
  const ours = new Map<PortWanted, PortHolder>();
  for (const r of results) {
    if (r.code !== 'EADDRINUSE') continue;
    const holder = findPortHolder(r.w.proto, r.w.port);
    if (holder && isKalemDaemon(holder)) ours.set(r.w, holder);
  }
  const inUse = results.filter((r) => r.code === 'EADDRINUSE' && !ours.has(r.w)).map((r) => r.w);
  const denied = results.filter((r) => r.code === 'EACCES').map((r) => r.w);
  const other = results.filter((r) => r.code && r.code !== 'EADDRINUSE' && r.code !== 'EACCES');
  const parts: string[] = [];
  if (inUse.length > 0) parts.push(`in use: ${inUse.map(label).join(', ')}`);
  if (other.length > 0) parts.push(`cannot bind: ${other.map((r) => `${label(r.w)}: ${r.code}`).join(', ')}`);
  if (parts.length > 0) {
    return {
      name,
      status: 'fail',
      detail: parts.join('; '),
      fix:
        inUse.length > 0
          ? `find the holder with \`ss -lntup | grep -E ':(${inUse.map((w) => w.port).join('|')})\\b'\`; stop it or change ${[...new Set(inUse.map((w) => w.what))].join(', ')}`
          : 'check that the listen address is one of this host’s addresses',
    };
  }
  const freeOnes = results.filter((r) => !ours.has(r.w));
  const pids = [...new Set([...ours.values()].map((h) => h.pid))];
  const held = ours.size > 0 ? `held by the running kalem daemon (pid ${pids.join(', ')}): ${[...ours.keys()].map(label).join(', ')}` : '';
  const free = [held, freeOnes.length > 0 ? `free: ${freeOnes.map((r) => label(r.w)).join(', ')}` : ''].filter(Boolean).join('; ');
  if (denied.length > 0) {
    return {
      name,
      status: 'warn',
      detail: `${free}; but this user may not bind ${denied.map(label).join(', ')} (ports below 1024)`,
      fix: 'the systemd unit grants CAP_NET_BIND_SERVICE; elsewhere run with that capability',
    };
  }
  return { name, status: 'ok', detail: free };
}

function tryBind(w: PortWanted): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (w.proto === 'udp') {
      const s = createSocket(isIP(w.host) === 6 ? 'udp6' : 'udp4');
      s.once('error', (err: NodeJS.ErrnoException) => {
        try {
          s.close();
        } catch {
          // never bound: nothing to close
        }
        resolve(err.code ?? 'error');
      });
      s.bind({ address: w.host, port: w.port, exclusive: true }, () => s.close(() => resolve(undefined)));
    } else {
      const s = createServer();
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      s.listen({ host: w.host, port: w.port, exclusive: true }, () => s.close(() => resolve(undefined)));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// open files

function checkOpenFiles(config: KalemConfig, limitsFile: string): DoctorCheck {
  const name = 'open-files';
  const need = requiredFileDescriptors(config);
  const unitNote = 'kalem.service sets LimitNOFILE=65536; this reports the limit of the shell doctor runs in';
  const soft = openFileLimit(limitsFile);
  if (soft === undefined) {
    return { name, status: 'warn', detail: `cannot read the open-file limit from ${limitsFile}`, fix: `make sure \`ulimit -n\` is at least ${need}` };
  }
  const detail = `limit ${soft}, needed ${need} (daemon.max_calls ${config.daemon.max_calls} × ${FDS_PER_CALL} + ${FD_HEADROOM})`;
  if (soft < need) {
    return {
      name,
      status: 'fail',
      detail: `${detail}; ${unitNote}`,
      fix: `raise it to at least ${need}: LimitNOFILE= in the unit, or \`ulimit -n ${need}\`; or lower daemon.max_calls`,
    };
  }
  return { name, status: 'ok', detail };
}

// ---------------------------------------------------------------------------------------------
// clock

async function checkClock(probe: () => Promise<boolean | undefined>): Promise<DoctorCheck> {
  const name = 'clock';
  const synced = await probe().catch(() => undefined);
  if (synced === true) return { name, status: 'ok', detail: 'system clock is NTP-synchronised' };
  if (synced === false) {
    return {
      name,
      status: 'fail',
      detail: 'system clock is not NTP-synchronised (certificate validity, CDR and audit times and retention depend on it)',
      fix: 'enable time sync: `timedatectl set-ntp true` (systemd-timesyncd) or install chrony',
    };
  }
  return {
    name,
    status: 'warn',
    detail: 'cannot tell whether the clock is synchronised (no timedatectl answer, no timesyncd flag)',
    fix: 'make sure an NTP client (systemd-timesyncd, chrony) keeps the clock in sync',
  };
}

/** timedatectl's NTPSynchronized, else systemd-timesyncd's flag file, else undefined. */
export async function ntpSynchronized(): Promise<boolean | undefined> {
  const answer = await new Promise<string | undefined>((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim()),
    );
  });
  if (answer === 'yes') return true;
  if (answer === 'no') return false;
  if (existsSync('/run/systemd/timesync/synchronized')) return true;
  return undefined;
}

// ---------------------------------------------------------------------------------------------

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function modeText(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
