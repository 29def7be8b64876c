// Shared pieces of the end-to-end media tests: a real gateway daemon whose managed rtpengine
// (Debian's rtpengine 10.5, started by the daemon itself) anchors every call in front of the echo
// agent, and readers for what the gateway recorded.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { EMBEDDED, loopbackConfig, rtpenginePortRange, TestGateway, type EngineUnderTest } from '../helpers/gateway.js';

export const ECHO = '+14155550100';
/** An echo agent whose calls the gateway ends after one second (maxCallSeconds). */
export const SHORT = '+14155550101';

export interface MediaGateway {
  gw: TestGateway;
  /** rtpengine's media port range: the carrier-facing SDP of every call must be in it. */
  portMin: number;
  portMax: number;
}

/**
 * A gateway with the managed rtpengine on its own port range; `rtpengine` adds lines to the
 * [rtpengine] section, `sip`/`rest` as in loopbackConfig.
 */
export async function mediaGateway(options: { sip?: string; rest?: string; rtpengine?: string; engine?: EngineUnderTest } = {}): Promise<MediaGateway> {
  const { portMin, portMax } = rtpenginePortRange();
  const rtpengine = `[rtpengine]\nmode = "managed"\ninterface_address = "127.0.0.1"\nport_min = ${portMin}\nport_max = ${portMax}\n${options.rtpengine ?? ''}\n`;
  let toml = loopbackConfig(options.sip ?? '', `[log]\nlevel = "debug"\nsip_trace = true\n${options.rest ?? ''}\n${rtpengine}`, options.engine ?? EMBEDDED);
  // A tls_port in `sip` replaces loopbackConfig's "no TLS".
  if (/^tls_port\s*=/m.test(options.sip ?? '')) toml = toml.replace('tls_port = -1\n', '');
  const gw = new TestGateway(toml);
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.createAgent('acme', { name: 'short', kind: 'echo', maxCallSeconds: 1 });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [ECHO]);
    p.addNumbers('acme', 'short', [SHORT]);
  });
  await gw.start();
  return { gw, portMin, portMax };
}

export interface CdrMedia {
  received: number;
  sent: number;
  codec: string | null;
  anchored?: boolean;
}

export interface CdrRow {
  end_reason: string;
  hangup_by: string;
  answered_at: string | null;
  ended_at: string | null;
  sip_call_id: string;
  media: CdrMedia | undefined;
}

export function cdrs(gw: TestGateway): CdrRow[] {
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT end_reason, hangup_by, answered_at, ended_at, sip_call_id, details FROM calls ORDER BY started_at')
      .all() as Array<Omit<CdrRow, 'media'> & { details: string | null }>;
    return rows.map(({ details, ...rest }) => ({ ...rest, media: (JSON.parse(details ?? '{}') as { media?: CdrMedia }).media }));
  } finally {
    db.close();
  }
}

/** The m=audio ports of the SDP bodies in a trace (SIPp's message file, baresip's SIP trace). */
export function audioPorts(trace: string): number[] {
  return [...trace.matchAll(/^m=audio (\d+) /gm)].map((m) => Number(m[1]));
}

/** Resolves when `check` holds, polling every 20 ms (for state with no event, e.g. a CDR row); rejects after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
