import { crossFieldProblems } from './cross-checks.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { kalemError } from '../core/errors.js';
import { CONFIG_SCHEMA, type KalemConfig } from './schema.js';
import { deepFreeze, resolvePaths, validateAgainst } from './schema-dsl.js';

/**
 * smol-toml through its one-file CommonJS build: every CLI command reads the config, and the ES
 * module build is nine modules that cost about 10 ms of each command's start-up to load (see
 * "CLI start-up" in docs/BENCHMARKS.md); the CommonJS build takes about 3 ms. Same parser.
 */
const { parse: parseToml } = createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');

export const DEFAULT_CONFIG_PATH = '/etc/kalem/kalem.toml';

export interface ConfigSource {
  /** `--config FILE`; wins over KALEM_CONFIG. */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Where the config comes from: `--config`, then `KALEM_CONFIG`, then the default path. */
export function resolveConfigPath(src: ConfigSource): { path: string; explicit: boolean } {
  const env = src.env ?? process.env;
  if (src.path) return { path: src.path, explicit: true };
  if (env.KALEM_CONFIG) return { path: env.KALEM_CONFIG, explicit: true };
  return { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/**
 * Reads, validates and freezes the config. A missing file is an error when it was named
 * explicitly; a missing default file means "all defaults" (a fresh install before editing).
 */
export function loadConfig(src: ConfigSource = {}): { config: KalemConfig; path: string | null } {
  const { path, explicit } = resolveConfigPath(src);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return { config: validateConfig({}), path: null };
    throw kalemError('KALEM_ERR_CONFIG_UNREADABLE', path, code ?? String(err));
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    throw kalemError('KALEM_ERR_CONFIG_SYNTAX', path, (err as Error).message.split('\n')[0] ?? '');
  }
  return { config: validateConfig(raw, dirname(resolve(path))), path };
}

/**
 * Validates an already-parsed object (tests and the TOML loader share this). Relative file
 * paths are resolved against `baseDir` (the config file's directory); without one they stay as
 * written.
 */
export function validateConfig(raw: unknown, baseDir?: string): KalemConfig {
  const problems: string[] = [];
  const value = validateAgainst(CONFIG_SCHEMA, raw, '', problems);
  if (baseDir !== undefined) resolvePaths(CONFIG_SCHEMA, value, baseDir, resolve);
  if (problems.length === 0) problems.push(...crossFieldProblems(value as unknown as KalemConfig));
  if (problems.length > 0) throw kalemError('KALEM_ERR_CONFIG_INVALID', problems.join('; '));
  return deepFreeze(value) as unknown as KalemConfig;
}
