/** Printing for the CLI: aligned tables for people, `--json` for scripts. Nothing else writes stdout. */

export type Row = Record<string, string | number | boolean | null | undefined>;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printTable(rows: Row[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: Row[string]): string => (v === null || v === undefined ? '-' : String(v));
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
    process.stdout.write(`${(k + ':').padEnd(width + 1)} ${text}\n`);
  }
}

export function say(message: string): void {
  process.stdout.write(message + '\n');
}
