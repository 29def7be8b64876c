/**
 * Known SIP scanners (SIPVicious and its clones, "friendly-scanner", sipcli): their requests are
 * dropped without an answer on UDP, so the scanner cannot even tell a SIP service is there.
 * Engine-neutral: takes the User-Agent and the From/To user parts as plain strings.
 *
 * Rules: the User-Agent contains one of the configured substrings (config
 * `sip.scanner_user_agents`, case-insensitive), or the From or To user is `sipvicious` (its
 * default probe, whatever User-Agent it claims). The matched rule is returned for the log line.
 */

export const DEFAULT_SCANNER_USER_AGENTS: readonly string[] = Object.freeze(['friendly-scanner', 'sipvicious', 'sipcli', 'sip-cli']);

/** The user part SIPVicious puts in From and To unless told otherwise. */
const SCANNER_USERS: readonly string[] = ['sipvicious'];

export interface ScannerProbe {
  readonly userAgent: string | null;
  readonly fromUser: string | null;
  readonly toUser: string | null;
}

export interface ScannerMatch {
  readonly rule: 'user-agent' | 'from-user' | 'to-user';
  /** The configured pattern (or user name) that matched, lower-cased; never the raw header. */
  readonly pattern: string;
}

export class ScannerFilter {
  private readonly userAgents: readonly string[];

  constructor(userAgentSubstrings: readonly string[] = DEFAULT_SCANNER_USER_AGENTS) {
    if (!Array.isArray(userAgentSubstrings)) throw new TypeError('scanner user agents must be an array of strings');
    this.userAgents = userAgentSubstrings.map((s) => {
      // An empty pattern would match every User-Agent and silence all callers.
      if (typeof s !== 'string' || s.trim().length === 0) throw new TypeError('scanner user-agent patterns must be non-empty strings');
      return s.toLowerCase();
    });
  }

  /** The rule a request matches, or null when it is not a known scanner. */
  match(probe: ScannerProbe): ScannerMatch | null {
    if (probe.userAgent !== null && probe.userAgent.length > 0) {
      const ua = probe.userAgent.toLowerCase();
      for (const pattern of this.userAgents) if (ua.includes(pattern)) return { rule: 'user-agent', pattern };
    }
    const user = (u: string | null): string | null => {
      if (u === null) return null;
      const lower = u.toLowerCase();
      return SCANNER_USERS.includes(lower) ? lower : null;
    };
    const from = user(probe.fromUser);
    if (from !== null) return { rule: 'from-user', pattern: from };
    const to = user(probe.toUser);
    if (to !== null) return { rule: 'to-user', pattern: to };
    return null;
  }

  isScanner(probe: ScannerProbe): boolean {
    return this.match(probe) !== null;
  }
}
