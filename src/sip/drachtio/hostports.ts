import type { SipTransport } from '../sip-engine.js';

export interface ListeningAddress {
  readonly transport: SipTransport;
  readonly address: string;
  readonly port: number;
}

/**
 * Parses the SIP listeners drachtio-server reports when an application authenticates: a
 * comma-separated list of `proto/host:port`, e.g. `udp/10.0.0.5:5060,tcp/10.0.0.5:5060,tls/10.0.0.5:5061`
 * (IPv6 hosts in brackets). WebSocket listeners (ws, wss) are skipped: the SipEngine port only
 * knows udp, tcp and tls. Entries that do not parse are skipped too.
 */
export function parseHostports(hostports: string | null | undefined): ListeningAddress[] {
  if (!hostports) return [];
  const out: ListeningAddress[] = [];
  for (const item of hostports.split(',')) {
    const m = /^\s*([a-z]+)\/(\[[^\]]+\]|[^:\s]+):(\d+)\s*$/i.exec(item);
    if (!m) continue;
    const proto = (m[1] ?? '').toLowerCase();
    if (proto !== 'udp' && proto !== 'tcp' && proto !== 'tls') continue;
    const host = (m[2] ?? '').replace(/^\[(.*)\]$/, '$1');
    out.push({ transport: proto, address: host, port: Number(m[3]) });
  }
  return out;
}
