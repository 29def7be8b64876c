/**
 * A tiny typed schema language for the config file: each leaf says its type, default and
 * meaning; sections nest. `ConfigOf<S>` derives the TypeScript type from the schema, so the
 * schema is the single source of truth for defaults, validation, types and the example file.
 */

export interface Field<T> {
  readonly kind: 'field';
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'string[]';
  readonly default: T;
  readonly doc: string;
  readonly enum?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Optional settings (no default value) are `null` when absent. */
  readonly optional?: boolean;
  /** A file path: a relative value is taken relative to the config file's directory. */
  readonly path?: boolean;
}

export interface Section {
  readonly [key: string]: Field<unknown> | Section | string;
}

export type ConfigOf<S> = {
  readonly [K in keyof S as K extends '$doc' ? never : K]: S[K] extends Field<infer T>
    ? T
    : S[K] extends Section
      ? ConfigOf<S[K]>
      : never;
};

export const str = (def: string, doc: string): Field<string> => ({ kind: 'field', type: 'string', default: def, doc });
export const optStr = (doc: string): Field<string | null> => ({
  kind: 'field',
  type: 'string',
  default: null,
  doc,
  optional: true,
});
/** A file path; relative values resolve against the directory of the config file that sets them. */
export const pathStr = (def: string, doc: string): Field<string> => ({ ...str(def, doc), path: true });
export const optPath = (doc: string): Field<string | null> => ({ ...optStr(doc), path: true });
export const oneOf = <E extends string>(values: readonly E[], def: E, doc: string): Field<E> => ({
  kind: 'field',
  type: 'string',
  default: def,
  doc,
  enum: values,
});
export const int = (def: number, doc: string, range: { min?: number; max?: number } = {}): Field<number> => ({
  kind: 'field',
  type: 'integer',
  default: def,
  doc,
  ...range,
});
export const num = (def: number, doc: string, range: { min?: number; max?: number } = {}): Field<number> => ({
  kind: 'field',
  type: 'number',
  default: def,
  doc,
  ...range,
});
export const bool = (def: boolean, doc: string): Field<boolean> => ({ kind: 'field', type: 'boolean', default: def, doc });
export const strList = (def: string[], doc: string): Field<string[]> => ({
  kind: 'field',
  type: 'string[]',
  default: def,
  doc,
});

export function isField(v: unknown): v is Field<unknown> {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'field';
}

/**
 * Validates a parsed TOML object against the schema: fills defaults, rejects unknown keys and
 * wrong types. Every problem is collected and reported with its dotted key path.
 */
export function validateAgainst(schema: Section, raw: unknown, path: string, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const input: Record<string, unknown> =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    problems.push(`${path || '(root)'}: expected a table`);
  }
  for (const key of Object.keys(input)) {
    if (!(key in schema) || key === '$doc') problems.push(`${join(path, key)}: unknown key`);
  }
  for (const [key, spec] of Object.entries(schema)) {
    if (key === '$doc' || typeof spec === 'string') continue;
    const keyPath = join(path, key);
    if (isField(spec)) out[key] = checkField(spec, input[key], keyPath, problems);
    else out[key] = validateAgainst(spec, input[key], keyPath, problems);
  }
  return out;
}

function checkField(spec: Field<unknown>, value: unknown, keyPath: string, problems: string[]): unknown {
  if (value === undefined) return spec.default;
  const fail = (expected: string): unknown => {
    problems.push(`${keyPath}: expected ${expected}, got ${describe(value)}`);
    return spec.default;
  };
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return fail('a string');
      if (spec.enum && !spec.enum.includes(value)) return fail(`one of ${spec.enum.map((e) => `"${e}"`).join(', ')}`);
      return value;
    case 'boolean':
      return typeof value === 'boolean' ? value : fail('true or false');
    case 'integer':
    case 'number': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) return fail(spec.type === 'integer' ? 'an integer' : 'a number');
      if (spec.type === 'integer' && !Number.isInteger(n)) return fail('an integer');
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return fail(`a value between ${spec.min ?? '-∞'} and ${spec.max ?? '∞'}`);
      }
      return n;
    }
    case 'string[]':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return fail('an array of strings');
      return [...value];
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'a table';
  return `${typeof v} ${String(v)}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/**
 * Resolves every relative `path` field against `baseDir` (in place, before freezing): a config
 * read from /etc/kalem means the same files whatever directory kalem is started from.
 */
export function resolvePaths(schema: Section, value: Record<string, unknown>, baseDir: string, resolveFn: (base: string, p: string) => string): void {
  for (const [key, spec] of Object.entries(schema)) {
    if (key === '$doc' || typeof spec === 'string') continue;
    if (isField(spec)) {
      const v = value[key];
      if (spec.path && typeof v === 'string' && v !== '' && !v.startsWith('/')) value[key] = resolveFn(baseDir, v);
    } else if (typeof value[key] === 'object' && value[key] !== null) {
      resolvePaths(spec, value[key] as Record<string, unknown>, baseDir, resolveFn);
    }
  }
}
