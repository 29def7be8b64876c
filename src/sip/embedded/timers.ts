/**
 * The one table of SIP timers (RFC 3261 §17 and Table 4 of Appendix A, RFC 6026 §8.11/§8.4).
 *
 * Only T1, T2 and T4 are configurable; every lettered timer is derived from them here and
 * nowhere else. Values are milliseconds. Timers whose value depends on the transport (D, I, J,
 * K) come out of `timersFor(base, reliable)` already resolved: on a reliable transport (TCP,
 * TLS) they are 0, because the transport itself guarantees delivery and there are no
 * retransmissions to absorb (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
 *
 * All timers run on the injectable Clock port (src/core/clock.ts), so tests drive them with
 * FakeClock.advance().
 */

export interface BaseTimers {
  /** RTT estimate (RFC 3261 §17.1.1.1): default 500 ms. */
  readonly T1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses (§17.1.2.2): 4 s. */
  readonly T2: number;
  /** Maximum time a message remains in the network (§17.1.2.2): 5 s. */
  readonly T4: number;
}

export const DEFAULT_BASE_TIMERS: BaseTimers = Object.freeze({ T1: 500, T2: 4000, T4: 5000 });

export interface SipTimers extends BaseTimers {
  /** INVITE request retransmit interval, initial value, doubles each time (§17.1.1.2). UDP only. */
  readonly A: number;
  /** INVITE client transaction timeout (§17.1.1.2): 64*T1. */
  readonly B: number;
  /** Wait time for response retransmits in INVITE client Completed (§17.1.1.2): >32 s UDP, 0 reliable. */
  readonly D: number;
  /** Non-INVITE request retransmit interval, initial value (§17.1.2.2): T1, doubling to T2. UDP only. */
  readonly E: number;
  /** Non-INVITE client transaction timeout (§17.1.2.2): 64*T1. */
  readonly F: number;
  /** INVITE final response retransmit interval, initial value (§17.2.1): T1, doubling to T2. UDP only. */
  readonly G: number;
  /** Wait time for ACK receipt (§17.2.1): 64*T1. */
  readonly H: number;
  /** Wait time for ACK retransmits in INVITE server Confirmed (§17.2.1): T4 UDP, 0 reliable. */
  readonly I: number;
  /** Wait time for non-INVITE request retransmits in server Completed (§17.2.2): 64*T1 UDP, 0 reliable. */
  readonly J: number;
  /** Wait time for response retransmits in non-INVITE client Completed (§17.1.2.2): T4 UDP, 0 reliable. */
  readonly K: number;
  /** INVITE server Accepted state lifetime after a 2xx (RFC 6026 §8.7): 64*T1. */
  readonly L: number;
  /** INVITE client Accepted state lifetime after a 2xx (RFC 6026 §8.4): 64*T1. */
  readonly M: number;
  /** UAS core gives up retransmitting a 2xx without ACK after this long (RFC 3261 §13.3.1.4): 64*T1. */
  readonly twoXxGiveUp: number;
}

/** Validates T1/T2/T4 overrides; a TypeError names the bad one (0 can be set only where it is legal). */
export function baseTimers(overrides: Partial<BaseTimers> = {}): BaseTimers {
  const T1 = overrides.T1 ?? DEFAULT_BASE_TIMERS.T1;
  const T2 = overrides.T2 ?? DEFAULT_BASE_TIMERS.T2;
  const T4 = overrides.T4 ?? DEFAULT_BASE_TIMERS.T4;
  for (const [name, v] of [['T1', T1], ['T2', T2], ['T4', T4]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`SIP timer ${name} must be a positive number of ms, got ${v}`);
  }
  if (T2 < T1) throw new TypeError(`SIP timer T2 (${T2}) must not be smaller than T1 (${T1})`);
  return Object.freeze({ T1, T2, T4 });
}

/** The full table for one kind of transport. Cheap: build it once per transport kind and keep it. */
export function timersFor(base: BaseTimers, reliable: boolean): SipTimers {
  const { T1, T2, T4 } = base;
  return Object.freeze({
    T1,
    T2,
    T4,
    A: T1,
    B: 64 * T1,
    // §17.1.1.2: "at least 32 seconds for unreliable transports"; never shorter than the server's Timer H.
    D: reliable ? 0 : Math.max(32_000, 64 * T1),
    E: T1,
    F: 64 * T1,
    G: T1,
    H: 64 * T1,
    I: reliable ? 0 : T4,
    J: reliable ? 0 : 64 * T1,
    K: reliable ? 0 : T4,
    L: 64 * T1,
    M: 64 * T1,
    twoXxGiveUp: 64 * T1,
  });
}

/** Next retransmit interval for Timers E, G and the UAS 2xx: doubles, capped at T2 (§17.1.2.2, §17.2.1). */
export function nextRetransmitInterval(current: number, T2: number): number {
  const doubled = current * 2;
  return doubled < T2 ? doubled : T2;
}

/** Both resolved tables, the usual thing a transaction layer keeps. */
export interface TimerTables {
  readonly reliable: SipTimers;
  readonly unreliable: SipTimers;
}

export function timerTables(overrides: Partial<BaseTimers> = {}): TimerTables {
  const base = baseTimers(overrides);
  return Object.freeze({ reliable: timersFor(base, true), unreliable: timersFor(base, false) });
}
