import { createRequire } from 'node:module';
import type { Logger, DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * pino is loaded when the first logger is made, not when this module is imported: every CLI
 * command imports the application's modules, and most never log (pino and its streams cost
 * about as much start-up time as the rest of `kalem number list`).
 */
const require = createRequire(import.meta.url);
type Pino = typeof import('pino');
let pinoModule: Pino | undefined;
function pino(): Pino {
  pinoModule ??= require('pino') as Pino;
  return pinoModule;
}

/**
 * Field names that may carry a secret anywhere in a log object. Redaction is configured here once
 * for the whole process; components never redact on their own. Adding a secret-bearing field
 * elsewhere means adding its name here.
 */
export const SECRET_FIELDS = [
  'secret',
  'secretValue',
  'value',
  'password',
  'passwd',
  'apiKey',
  'api_key',
  'openaiKey',
  'authorization',
  'Authorization',
  'proxyAuthorization',
  'Proxy-Authorization',
  'masterKey',
  'accountKey',
  'key',
  'token',
  'sealed',
] as const;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const f of SECRET_FIELDS) {
    const p = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
    const dot = p.startsWith('[') ? '' : '.';
    paths.push(p, `*${dot}${p}`, `*.*${dot}${p}`);
  }
  return paths;
}

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; stdout by default (journald collects it under systemd). */
  destination?: DestinationStream;
}

/**
 * pino appends a child's bindings to its parent's as text, so `child({ component: 'realtime' })`
 * under a `component: 'calls'` logger writes `"component"` twice in every line (JSON with
 * duplicate keys: most tools keep one of them, some keep the wrong one). Every child made
 * anywhere below the root passes through here (pino's `onChild` is inherited): its bindings are
 * rebuilt once, each key once, the child's own value winning. Components can therefore bind
 * what they are without knowing what their parent bound.
 */
function dedupeBindings(child: Logger): void {
  const { chindingsSym } = pino().symbols;
  const merged = child.bindings(); // JSON.parse keeps the last value of a repeated key
  (child as unknown as Record<symbol, string>)[chindingsSym] = '';
  child.setBindings(merged);
}

/** The root logger. Components take `root.child({ component: 'sip' })`, calls add `callId`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const p = pino();
  return p(
    {
      level: opts.level ?? 'info',
      base: { service: 'kalem' },
      redact: { paths: redactPaths(), censor: '[redacted]' },
      timestamp: p.stdTimeFunctions.isoTime,
      onChild: dedupeBindings,
    },
    opts.destination ?? p.destination({ fd: 1, sync: true }),
  );
}
