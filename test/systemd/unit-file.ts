// A small reader for systemd unit files (INI-like), enough for the tests to assert what a unit
// says without a running systemd: sections, repeated keys in order, comments, continuation lines.
// An empty assignment (`Key=`) resets the list, as systemd does for list-valued settings.

export type UnitFile = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export function parseUnitFile(text: string): UnitFile {
  if (typeof text !== 'string') throw new TypeError('unit text must be a string');
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    // A trailing backslash continues the value on the next line.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      line = `${line.slice(0, -1).trimEnd()} ${(lines[i] ?? '').trim()}`;
    }
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = header[1] ?? '';
      current = sections.get(name) ?? new Map<string, string[]>();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || current === undefined) {
      throw new TypeError(`line ${i + 1} is neither a section, a comment nor Key=Value: ${line}`);
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (value === '') {
      current.set(key, []);
      continue;
    }
    const values = current.get(key) ?? [];
    values.push(value);
    current.set(key, values);
  }
  return sections;
}

/** All values of `key` in `section`, in file order (after resets). */
export function unitValues(unit: UnitFile, section: string, key: string): readonly string[] {
  return unit.get(section)?.get(key) ?? [];
}

/** The effective value of a single-valued setting (the last assignment wins). */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  const values = unitValues(unit, section, key);
  return values[values.length - 1];
}
