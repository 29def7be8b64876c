import { randomBytes } from 'node:crypto';

/**
 * Short, URL-safe, prefixed random ids (`acc_…`, `agt_…`). The prefix tells an operator what kind
 * of thing an id names when it shows up in a log line or an error.
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}
