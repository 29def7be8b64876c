/**
 * /healthz without an HTTP server: named checks in, one verdict out. Kept apart from the
 * listener so any server (node:http today, the admin API tomorrow) answers health the same way:
 * 200 with `status: "ok"` when every check passes, else 503 naming the failing ones.
 */

export interface HealthResult {
  ok: boolean;
  /** A short reason, shown in the response (never a secret). */
  detail?: string;
}

/** Named health checks the daemon supplies (sip listeners, rtpengine, database…). */
export type HealthChecks = Readonly<Record<string, () => Promise<HealthResult>>>;

export interface HealthReport {
  status: 'ok' | 'fail';
  failing: string[];
  checks: Record<string, HealthResult>;
}

/** The HTTP status for a report: 200 or 503. */
export function healthStatusCode(report: HealthReport): 200 | 503 {
  return report.status === 'ok' ? 200 : 503;
}

/** Runs every check at once, each bounded by `timeoutMs`; a throw or a timeout counts as a failure. */
export async function runHealthChecks(checks: HealthChecks, timeoutMs: number): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, timeoutMs)));
  const out: Record<string, HealthResult> = {};
  const failing: string[] = [];
  names.forEach((name, i) => {
    const r = results[i]!;
    out[name] = r;
    if (!r.ok) failing.push(name);
  });
  return { status: failing.length === 0 ? 'ok' : 'fail', failing, checks: out };
}

async function runCheck(check: () => Promise<HealthResult>, timeoutMs: number): Promise<HealthResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const r = await Promise.race([check(), timeout]);
    return r.detail === undefined ? { ok: r.ok === true } : { ok: r.ok === true, detail: r.detail };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : 'check failed' };
  } finally {
    clearTimeout(timer);
  }
}
