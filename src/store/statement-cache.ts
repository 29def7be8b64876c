import type Database from 'better-sqlite3';
import type { Db } from './database.js';

/**
 * The connection as the repositories see it, with `prepare` memoised per SQL text: compiling a
 * statement costs more than running it (a call-rate profile showed 9 % of the daemon's CPU in
 * `prepare`), and every repository statement is a fixed string.
 */
export function withStatementCache(db: Db): Db {
  const cache = new Map<string, Database.Statement>();
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string): Database.Statement => {
          let stmt = cache.get(sql);
          if (!stmt) {
            stmt = target.prepare(sql);
            cache.set(sql, stmt);
          }
          return stmt;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
