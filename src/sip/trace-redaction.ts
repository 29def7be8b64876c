/**
 * What `log.sip_trace` must never print: secrets travelling inside SIP messages.
 *  - Authorization / Proxy-Authorization values (digest responses);
 *  - SDES keys in SDP (RFC 4568 `a=crypto:<tag> <suite> inline:<key>|<lifetime>|<mki>`, one or
 *    more key params), which are the SRTP master keys of the call's media;
 *  - MIKEY key management (RFC 4567 `a=key-mgmt:`), which carries keys too.
 * The suite name stays, so a trace still shows what was negotiated.
 */
const AUTH_VALUE = /^((?:proxy-)?authorization:\s*\S+)\s.*$/gim;
const SDES_KEY = /(\binline:)[^\s;]+/gi;
const KEY_MGMT = /^(a=key-mgmt:\s*\S+)\s.*$/gim;

export function redactSipText(text: string): string {
  return text
    .replace(AUTH_VALUE, '$1 [redacted]')
    .replace(KEY_MGMT, '$1 [redacted]')
    .replace(SDES_KEY, (_m, prefix: string) => `${prefix}[redacted]`);
}
