import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { KalemConfig } from '../config/schema.js';
import { DigestAuthenticator } from '../sip/digest-auth.js';
import { RateLimiter } from '../sip/rate-limiter.js';
import { ScannerFilter } from '../sip/scanner-filter.js';
import { parseNameAddr } from '../sip/embedded/message/index.js';
import type { RequestGate } from '../sip/request-gate.js';

/** Digest authentication for trunks with credentials, from config. */
export function buildDigestVerifier(config: KalemConfig, clock: Clock): DigestAuthenticator {
  const algorithms = config.sip.digest_algorithms.map((a) => {
    const upper = a.toUpperCase();
    if (upper !== 'SHA-256' && upper !== 'MD5') throw new Error(`invalid config: sip.digest_algorithms: "${a}" is not SHA-256 or MD5`);
    return upper as 'SHA-256' | 'MD5';
  });
  return new DigestAuthenticator({ clock, nonceTtlMs: config.sip.nonce_ttl_ms, algorithms });
}

/**
 * The engines' gate, run before anything is answered (so nothing, not even 100 Trying or a 400
 * for a malformed request, goes back): known scanners are dropped silently, and a source over
 * the pike-style rate limit is ignored for the block period. Never rate-limited: trunk source
 * addresses, requests within a dialog the engine knows (a carrier's ACKs and BYEs), and sources
 * whose digest credentials verified recently (digest-only trunks have no CIDR to exempt them).
 */
export function buildRequestGate(
  config: KalemConfig,
  clock: Clock,
  log: Logger,
  isTrustedSource: (address: string) => boolean = () => false,
  isRecentlyAuthenticated: (address: string) => boolean = () => false,
): RequestGate {
  const scanners = new ScannerFilter(config.sip.scanner_user_agents);
  const limiter = new RateLimiter({
    clock,
    requests: config.sip.rate_limit_requests,
    windowMs: config.sip.rate_limit_window_ms,
    blockMs: config.sip.rate_limit_block_ms,
  });
  limiter.setAllowList((address) => isTrustedSource(address) || isRecentlyAuthenticated(address));
  const userOf = (value: string | undefined): string | null => {
    if (value === undefined) return null;
    try {
      const uri = parseNameAddr(value).parsedUri;
      return uri.kind === 'sip' ? (uri.user ?? null) : null;
    } catch {
      return null;
    }
  };
  return (request, source, hints) => {
    const verdict = hints?.inDialog === true ? 'allow' : limiter.check(source.address);
    if (verdict === 'block') log.warn({ source: source.address, transport: source.transport }, 'source over the request-rate limit: ignoring it');
    if (verdict !== 'allow') return 'drop';
    const match = scanners.match({
      userAgent: request.headers.get('user-agent') ?? null,
      fromUser: userOf(request.headers.get('from')),
      toUser: userOf(request.headers.get('to')),
    });
    if (match) {
      log.debug({ source: source.address, rule: match.rule, pattern: match.pattern }, 'scanner request dropped');
      return 'drop';
    }
    return 'pass';
  };
}
