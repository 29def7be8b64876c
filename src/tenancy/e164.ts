import { createRequire } from 'node:module';
import type { CountryCode } from 'libphonenumber-js/max';
import { kalemError } from '../core/errors.js';

/**
 * libphonenumber-js with its full metadata takes about as long to load as the rest of a CLI
 * command, and only commands that parse a number need it: it is loaded on first use. The daemon
 * calls `loadPhoneMetadata()` at start, so the first INVITE does not pay for it on the event loop.
 */
const require = createRequire(import.meta.url);
type PhoneLib = typeof import('libphonenumber-js/max');
let phoneLib: PhoneLib | undefined;
export function loadPhoneMetadata(): PhoneLib {
  phoneLib ??= require('libphonenumber-js/max') as PhoneLib;
  return phoneLib;
}

/**
 * E.164 normalisation with libphonenumber-js (its full metadata), not hand-written rules:
 * `+1 (415) 555-0100` → `+14155550100`. A national number needs `defaultCountry`.
 */
export function normalizeE164(input: string, defaultCountry?: CountryCode): string {
  const text = input.trim();
  // Phone numbers hold digits, separators and an optional leading +; letters (vanity "1-800-FLOWERS"
  // aside, which carriers never send) mean a typo, so refuse rather than let the library guess.
  if (!/^\+?[0-9 ().\-/]+$/.test(text)) throw kalemError('KALEM_ERR_INVALID_E164', input);
  if (!text.startsWith('+') && defaultCountry === undefined) throw kalemError('KALEM_ERR_NATIONAL_NUMBER', input);
  try {
    const parsed = loadPhoneMetadata().parsePhoneNumberWithError(text, defaultCountry);
    if (!parsed.isPossible()) throw new Error('impossible length');
    return parsed.number;
  } catch {
    throw kalemError('KALEM_ERR_INVALID_E164', input);
  }
}

/**
 * Lenient form for routing: a SIP Request-URI user may carry `+E164`, `00…`, or digits without a
 * plus (many carriers send `14155550100`). Returns null when nothing sensible can be made of it.
 */
export function routableE164(user: string): string | null {
  let digits = user.replace(/[\s().\-]/g, '');
  if (digits.startsWith('00')) digits = '+' + digits.slice(2);
  if (!digits.startsWith('+')) digits = '+' + digits;
  if (!/^\+[1-9][0-9]{6,14}$/.test(digits)) return null;
  try {
    return normalizeE164(digits);
  } catch {
    return null;
  }
}

/** An ISO 3166 country code libphonenumber knows (`--country`); refused with a clear message otherwise. */
export function checkCountry(code: string): CountryCode {
  if (!/^[A-Z]{2}$/.test(code) || !loadPhoneMetadata().isSupportedCountry(code)) throw kalemError('KALEM_ERR_UNKNOWN_COUNTRY', code);
  return code as CountryCode;
}
