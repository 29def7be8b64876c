import { CONFIG_SCHEMA } from './schema.js';
import { isField, type Field, type Section } from './schema-dsl.js';

/**
 * Renders the schema as a commented TOML file with every key at its default. The shipped
 * `config/kalem.example.toml` is this output (a test checks they agree), so documentation of
 * the config can never drift from what the loader accepts.
 */
export function renderExampleConfig(): string {
  const out: string[] = [
    '# Kalem Gateway configuration (TOML).',
    '# Every key is shown with its default. Unknown keys and wrong types are refused at start.',
    '# Default location: /etc/kalem/kalem.toml; choose another with --config FILE or KALEM_CONFIG.',
    '',
  ];
  renderSection(CONFIG_SCHEMA, [], out);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function renderSection(section: Section, path: string[], out: string[]): void {
  if (path.length > 0) {
    const doc = section.$doc;
    if (typeof doc === 'string') for (const line of wrap(doc)) out.push(`# ${line}`);
    out.push(`[${path.join('.')}]`);
  }
  const subsections: Array<[string, Section]> = [];
  for (const [key, spec] of Object.entries(section)) {
    if (key === '$doc' || typeof spec === 'string') continue;
    if (!isField(spec)) {
      subsections.push([key, spec]);
      continue;
    }
    for (const line of wrap(describe(spec))) out.push(`# ${line}`);
    out.push(spec.optional && spec.default === null ? `# ${key} = ""` : `${key} = ${tomlValue(spec.default)}`);
  }
  out.push('');
  for (const [key, sub] of subsections) renderSection(sub, [...path, key], out);
}

function describe(f: Field<unknown>): string {
  let s = f.doc;
  if (f.enum) s += ` One of: ${f.enum.join(', ')}.`;
  if (f.optional) s += ' Optional.';
  return s;
}

function tomlValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  return String(v);
}

function wrap(text: string, width = 98): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + word.length + 1 > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}
