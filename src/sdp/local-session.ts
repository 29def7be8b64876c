/**
 * Our side of one dialog's SDP session: the o= line's session id stays fixed, the version moves
 * on when what we send changes (RFC 3264 §8: "the version in the origin field MUST increment by
 * one from the previous SDP. If the version in the origin line does not increment, the SDP MUST
 * be identical to the SDP with that version number").
 *
 * A re-INVITE that only refreshes the session (RFC 4028) gets the same body back with the same
 * version, so the far end and any SBC between see "nothing changed" and do not re-set up media.
 * Any difference (hold, unhold, another codec, another port) moves the version on by one.
 */

import { randomInt } from 'node:crypto';

export interface LocalSdpSessionOptions {
  /** Digits only. Default: a random number (RFC 4566 §5.2 suggests an NTP timestamp; any unique number does). */
  readonly sessionId?: string;
  /** Version of the first SDP sent. Default 1. */
  readonly initialVersion?: bigint;
  /** o= username. Default `-` (RFC 4566: "-" when the host does not support user ids). */
  readonly username?: string;
  /** s= value. Default `kalem`. */
  readonly sessionName?: string;
}

export class LocalSdpSession {
  readonly sessionId: string;
  readonly username: string;
  readonly sessionName: string;
  private version: bigint;
  /** The last body sent, with its version left out, or null before the first one. */
  private lastShape: string | null = null;

  constructor(options: LocalSdpSessionOptions = {}) {
    const id = options.sessionId ?? String(randomInt(1_000_000_000, 2 ** 47));
    if (!/^\d{1,20}$/.test(id)) throw new TypeError('LocalSdpSession sessionId must be 1-20 digits');
    const username = options.username ?? '-';
    if (!/^\S+$/.test(username)) throw new TypeError('LocalSdpSession username must be one non-empty token');
    const sessionName = options.sessionName ?? 'kalem';
    if (/[\r\n\0]/.test(sessionName)) throw new TypeError('LocalSdpSession sessionName must not contain CR, LF or NUL');
    const initial = options.initialVersion ?? 1n;
    if (initial < 0n) throw new TypeError('LocalSdpSession initialVersion must not be negative');
    this.sessionId = id;
    this.username = username;
    this.sessionName = sessionName;
    this.version = initial;
  }

  /** The version of the last SDP stamped (or the initial one before any). */
  get currentVersion(): string {
    return this.version.toString();
  }

  /**
   * Returns the version for an SDP whose content, apart from the o= version, is `shape`: the
   * same as last time when `shape` is unchanged, else the next one.
   */
  versionFor(shape: string): string {
    if (this.lastShape !== null && this.lastShape !== shape) this.version += 1n;
    this.lastShape = shape;
    return this.version.toString();
  }
}
