/** Printing for the CLI: aligned tables for people, `--json` for scripts. Nothing else writes stdout. */

/**
 * Values from outside (caller speech, SIP header values, names and instructions typed by an
 * operator or a tenant) could carry terminal escape sequences or bidi overrides aimed at the
 * operator's terminal. Everything human-readable this CLI prints passes through here: newlines
 * become a visible mark (one line per record), other control and bidi characters are shown
 * escaped. `--json` gives the exact text (JSON escapes control characters itself).
 */
export function printable(s: string): string;
export function printable(s: string | null): string | null;
export function printable(s: string | null): string | null {
  if (s === null) return null;
  return s
    .replace(/\r\n|\r|\n/g, ' ⏎ ')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`);
}

export type Row = Record<string, string | number | boolean | null | undefined>;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printTable(rows: Row[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: Row[string]): string => (v === null || v === undefined ? '-' : printable(String(v)));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd() + '\n';
  process.stdout.write(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) process.stdout.write(line(columns.map((c) => cell(r[c]))));
}

/** `key: value` lines for one object. */
export function printRecord(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [k, v] of Object.entries(record)) {
    const text = typeof v === 'object' && v !== null ? JSON.stringify(v) : v === null || v === undefined ? '-' : String(v);
    process.stdout.write(`${(k + ':').padEnd(width + 1)} ${printable(text)}\n`);
  }
}

export function say(message: string): void {
  process.stdout.write(printable(message) + '\n');
}
