import type { Scope } from './scopes.js';

/** An API token as stored: never the token itself, only its hash. */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  /** null: an operator token (every account); otherwise the one account it acts in. */
  readonly accountId: string | null;
  readonly accountName: string | null;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
}

export interface NewToken {
  id: string;
  name: string;
  accountId: string | null;
  scopes: readonly Scope[];
  hash: Uint8Array;
  createdAt: string;
  expiresAt: string | null;
}

/** Token storage; store/repositories/tokens.ts implements it over SQLite. */
export interface TokenRepository {
  insert(t: NewToken): void;
  findByHash(hash: Uint8Array): TokenRecord | undefined;
  /** An active (not revoked) token by id or by name. */
  findActive(ref: string): TokenRecord | undefined;
  list(filter: { includeRevoked: boolean }): TokenRecord[];
  revoke(id: string, at: string): boolean;
  /**
   * Records last use for several tokens at once. Must not wait for a lock: when the database is
   * busy it throws, and the caller keeps the times for its next attempt.
   */
  touch(uses: ReadonlyArray<{ id: string; at: string }>): void;
}
