/** Public API of the SIP message layer (RFC 3261 §7, §20, §25). */

export * from './types.js';
export { parseMessage } from './parser.js';
export { serializeMessage } from './serializer.js';
export { SipStreamFramer, type StreamFramerOptions } from './stream-framer.js';
export { COMPACT_FORMS, canonicalName, longName } from './header-names.js';
export { parseUri, formatUri, type ParsedUri, type SipUri, type TelUri, type OtherUri } from './uri.js';
export { parseVia, formatVia, BRANCH_MAGIC_COOKIE, type Via } from './via.js';
export {
  parseNameAddr,
  parseNameAddrList,
  parseContact,
  formatNameAddr,
  tagOf,
  type NameAddr,
} from './name-addr.js';
export { parseCSeq, formatCSeq, MAX_CSEQ, type CSeq } from './cseq.js';
export { parseParams, parseParamString, paramValue, formatParams, type SipParams } from './params.js';
export {
  parseAuthHeader,
  parseDigestCredentials,
  parseDigestChallenge,
  formatDigestChallenge,
  type AuthHeader,
  type DigestCredentials,
  type DigestChallenge,
} from './auth.js';
export { quote, unquote, unescapePercent, splitTopLevel } from './lex.js';
