import { kalemError } from '../core/errors.js';
import type { Account } from './model.js';
import type { AccountRepository } from './ports.js';

/**
 * The two account look-ups every service makes, with the one error an unknown account gets
 * (KALEM_ERR_UNKNOWN_ACCOUNT), so the services cannot drift apart in what they accept or say.
 */

/** An account by id or by name (the CLI and the API take either). */
export function accountByRef(accounts: AccountRepository, ref: string): Account {
  const a = accounts.get(ref) ?? accounts.findByName(ref);
  if (!a) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', ref);
  return a;
}

/** The account's data key, wrapped by the master key (an account without one is unknown). */
export function wrappedAccountKey(accounts: AccountRepository, accountId: string): Uint8Array {
  const k = accounts.wrappedKey(accountId);
  if (!k) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', accountId);
  return k;
}
