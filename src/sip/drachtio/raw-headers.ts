/**
 * Header lookup over the raw text of a SIP message, as drachtio-server forwarded it.
 *
 * drachtio-srf's own parser joins repeated header lines with ',' and keeps no order, which loses
 * "the first value" the SipEngine port promises (`IncomingCallInfo.header`). Reading the raw
 * header block keeps every line: names are matched case-insensitively, compact forms
 * (RFC 3261 §7.3.3) are expanded, folded lines (§7.3.1) are unfolded. Values are not split at
 * commas: a header written once with a comma-separated list comes back whole.
 */

/** Compact form → long lower-case name (IANA "Header Fields" registry). */
const COMPACT: Readonly<Record<string, string>> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Lower-cased long form of a header name. */
export function canonicalHeaderName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

export class RawHeaders {
  private readonly lines: ReadonlyArray<readonly [name: string, value: string]>;

  private constructor(lines: Array<readonly [string, string]>) {
    this.lines = lines;
  }

  /** Parses the header block of `raw` (start line skipped, body ignored). */
  static parse(raw: string): RawHeaders {
    const end = raw.indexOf('\r\n\r\n');
    const head = end === -1 ? raw : raw.slice(0, end);
    // Unfold: a line starting with SP/HTAB continues the previous header value.
    const unfolded = head.replace(/\r\n[ \t]+/g, ' ');
    const lines: Array<readonly [string, string]> = [];
    const all = unfolded.split('\r\n');
    for (let i = 1; i < all.length; i++) {
      const line = all[i] ?? '';
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      lines.push([canonicalHeaderName(line.slice(0, colon)), line.slice(colon + 1).trim()]);
    }
    return new RawHeaders(lines);
  }

  /** First value of a header, or undefined. */
  first(name: string): string | undefined {
    const want = canonicalHeaderName(name);
    for (const [n, v] of this.lines) if (n === want) return v;
    return undefined;
  }

  /** Every header line as [lower-case long name, value], in message order. */
  entries(): ReadonlyArray<readonly [name: string, value: string]> {
    return this.lines;
  }

  /** Every value of a header, in message order. */
  all(name: string): string[] {
    const want = canonicalHeaderName(name);
    return this.lines.filter(([n]) => n === want).map(([, v]) => v);
  }
}
