import { kalemError } from '../core/errors.js';

/**
 * Cursor pagination. A cursor is opaque to clients: base64url of the sort key of the last item
 * returned. For lists the services return whole (an account's agents, numbers, trunks,
 * secrets), the page is cut here, in key order; calls and the audit trail page in SQL.
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (!check(v)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'the cursor is not one this API gave out; start again without ?cursor=');
  return v;
}

export const isString = (v: unknown): v is string => typeof v === 'string';

/** Pages an in-memory list by a unique string key, ascending. */
export function pageByKey<T>(all: readonly T[], key: (t: T) => string, limit: number, cursor: string | undefined): Page<T> {
  const after = decodeCursor(cursor, isString);
  const sorted = [...all].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const rest = after === undefined ? sorted : sorted.filter((t) => key(t) > after);
  const items = rest.slice(0, limit);
  return { items, nextCursor: rest.length > limit ? encodeCursor(key(items[items.length - 1]!)) : null };
}
