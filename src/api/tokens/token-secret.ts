import { createHash, randomBytes } from 'node:crypto';

/**
 * The bearer token itself: `klm_` + 32 random bytes in base64url (43 characters, 256 bits).
 * The prefix makes a leaked token recognisable to secret scanners and to people.
 *
 * Only SHA-256(token) is stored. A slow password hash (scrypt, argon2) exists to make guessing a
 * low-entropy password from its hash expensive; a 256-bit random token cannot be guessed at any
 * hash speed, so a fast hash loses nothing, and it lets the daemon find a token by an index on
 * its hash in one lookup per request instead of trying a slow hash against every row.
 */
export const TOKEN_PREFIX = 'klm_';
const TOKEN_RE = /^klm_[A-Za-z0-9_-]{43}$/;

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Whether a presented string has the token's shape (checked before any hashing or lookup). */
export function looksLikeToken(s: string): boolean {
  return TOKEN_RE.test(s);
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
