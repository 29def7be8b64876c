import { kalemError } from '../core/errors.js';
import { routableE164 } from './e164.js';

/**
 * The form of a caller's identity that is hashed for lookup, so that the number a GDPR request
 * names finds the calls the carrier delivered: `sip:+4930123456@carrier;user=phone`,
 * `tel:004930123456` and `+49 30 123456` all become `+4930123456`. A From user that is not a
 * phone number (`anonymous`, a SIP username) is kept lower-cased.
 */
export function callerKeyFromUri(fromUri: string): string {
  const m = /^(?:sips?|tel):([^@;?>]*)/i.exec(fromUri.trim().replace(/^<|>$/g, ''));
  const user = decodeUser(m ? m[1]! : fromUri.trim());
  return routableE164(user) ?? user.toLowerCase();
}

/** The operator's side: `--caller NUMBER` is a phone number (any usual notation) or a SIP/tel URI. */
export function callerKeyFromInput(input: string): string {
  const text = input.trim();
  if (/^(sips?|tel):/i.test(text)) return callerKeyFromUri(text);
  const e164 = routableE164(text);
  if (e164 === null) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `--caller takes a phone number (+4930123456) or a sip:/tel: URI (got "${input}")`);
  }
  return e164;
}

function decodeUser(user: string): string {
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}
