import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

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

/** The root logger. Components take `root.child({ component: 'sip' })`, calls add `callId`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'kalem' },
      redact: { paths: redactPaths(), censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
