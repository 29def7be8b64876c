import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { kalemError, type KalemError } from '../core/errors.js';
import type { KalemConfig } from '../config/schema.js';

/**
 * Start-up failures said in the operator's terms: which setting to change, which file to chown.
 * Node reports a busy port as "listen EADDRINUSE: address already in use 0.0.0.0:5060"; the
 * operator needs to know that is `sip.tcp_port`.
 */

interface PortSetting {
  setting: string;
  proto: 'udp' | 'tcp';
  port: number;
}

function portSettings(config: KalemConfig): PortSetting[] {
  const s = config.sip;
  const out: PortSetting[] = [
    { setting: 'sip.udp_port', proto: 'udp', port: s.udp_port },
    { setting: 'sip.tcp_port', proto: 'tcp', port: s.tcp_port },
    { setting: 'sip.tls_port', proto: 'tcp', port: s.tls_port },
    { setting: 'api.port', proto: 'tcp', port: config.api.port },
  ];
  const ng = config.rtpengine.ng_address && /:(\d+)$/.exec(config.rtpengine.ng_address);
  if (ng) out.push({ setting: 'rtpengine.ng_address', proto: 'udp', port: Number(ng[1]) });
  return out.filter((p) => p.port > 0);
}

/** A KalemError naming the setting for a bind/listen failure, or undefined when it is not one. */
export function explainListenError(err: unknown, config: KalemConfig): KalemError | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES' && e?.code !== 'EADDRNOTAVAIL') return undefined;
  if (typeof e.port !== 'number') return undefined;
  const proto = e.syscall === 'bind' ? 'udp' : 'tcp';
  const matches = portSettings(config).filter((p) => p.port === e.port && p.proto === proto);
  const settings = matches.length > 0 ? matches.map((m) => m.setting).join(' / ') : 'the port settings';
  const where = `${proto} ${e.address ?? '?'}:${e.port}`;
  if (e.code === 'EADDRINUSE') return kalemError('KALEM_ERR_PORT_IN_USE', where, settings, String(e.port), settings);
  if (e.code === 'EACCES') return kalemError('KALEM_ERR_PORT_DENIED', where, settings);
  return kalemError('KALEM_ERR_ADDRESS_NOT_HERE', where, settings);
}

/**
 * Why a database (or its directory) cannot be opened, when the reason is ownership: names the
 * owner, the user kalem runs as, and the chown that fixes it. Undefined when ownership is fine
 * (the caller's own error then stands).
 */
export function explainDatabaseOwner(path: string): KalemError | undefined {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  for (const p of [path, dirname(path)]) {
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.uid === uid || uid === 0) continue;
    const me = userName(uid);
    const owner = userName(st.uid);
    return kalemError('KALEM_ERR_DB_OWNER', path, `${p} is owned by ${owner} (uid ${st.uid})`, `${me} (uid ${uid})`, owner, `chown -R ${me} ${dirname(path)}`);
  }
  return undefined;
}

/** The user name of a uid from /etc/passwd, else "uid N". */
function userName(uid: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    if (line) return line.split(':')[0]!;
  } catch {
    // no /etc/passwd: the number will do
  }
  return `uid ${uid}`;
}
