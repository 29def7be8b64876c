import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../core/clock.js';

/**
 * The gateway's Prometheus metrics: one private registry and a small typed facade. Nothing else
 * in the project imports prom-client; services call `Metrics` methods, the HTTP server renders
 * `render()`. Labels are a closed set (outcome, error kind), never a number or address: a label
 * per caller would grow without bound and leak who calls whom. The one exception is the account
 * id on refused calls: accounts are created by the operator, not by callers, so it stays bounded.
 *
 * Names follow Prometheus conventions (base units: seconds; counters end in `_total`), so jitter is
 * exported in seconds although callers pass milliseconds like everywhere else in this code.
 */

export const METRIC_PREFIX = 'kalem_';

/** Final outcome of an incoming INVITE, one count per call. */
export const CALL_OUTCOMES = [
  /** Answered with 200 and later ended (by either side). */
  'answered',
  /** The caller cancelled before we answered. */
  'cancelled',
  /** Admitted but setup failed on our side (media, Realtime, internal error) before an answer. */
  'failed',
  /** We answered but the ACK never came. */
  'no_ack',
  'rejected_401',
  'rejected_403',
  'rejected_404',
  'rejected_486',
  'rejected_488',
  'rejected_503',
  /** Any other final status, folded into its class so the label set stays closed. */
  'rejected_4xx',
  'rejected_5xx',
  'rejected_6xx',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** Outcomes a started call can end with (rejections go through `reject(status)`). */
export type CallEndOutcome = 'answered' | 'cancelled' | 'failed' | 'no_ack';

/** Why a Realtime session reported trouble; a closed set for the `kind` label. */
export const REALTIME_ERROR_KINDS = ['auth', 'quota', 'network', 'timeout', 'session_limit', 'server', 'protocol', 'closed'] as const;
export type RealtimeErrorKind = (typeof REALTIME_ERROR_KINDS)[number];

const API_AUTH_FAILURE_REASONS: readonly string[] = ['missing', 'malformed', 'unknown', 'expired', 'revoked'];

const NAMED_REJECTIONS = new Set<number>([401, 403, 404, 486, 488, 503]);

/** Maps a SIP final status (400..699) to its bounded outcome label. */
export function rejectionOutcome(status: number): CallOutcome {
  if (!Number.isInteger(status) || status < 400 || status > 699) {
    throw new TypeError(`a rejection needs a SIP final status 400..699, got ${status}`);
  }
  if (NAMED_REJECTIONS.has(status)) return `rejected_${status}` as CallOutcome;
  return `rejected_${Math.floor(status / 100)}xx` as CallOutcome;
}

/** One admitted call's metrics; every method is safe to call more than once. */
export interface CallTracker {
  /** 200 OK sent: records INVITE→answer latency (once). */
  answered(): void;
  /** The first agent audio frame went out to the caller: records time since answer (once). */
  firstAgentAudio(): void;
  /** The call is over: counts its outcome and leaves the active gauge. Later calls are ignored. */
  ended(outcome?: CallEndOutcome): void;
  /** Refused after admission (e.g. 488 no common codec, 503 rtpengine down): counts and leaves. */
  rejected(status: number): void;
}

export interface MetricsOptions {
  /** Monotonic time for latencies; tests pass a FakeClock. */
  clock?: Clock;
  /** Process metrics and event-loop lag (default on; tests may turn them off for speed). */
  defaultMetrics?: boolean;
}

// Buckets in seconds, chosen for what each measures.
const ANSWER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30];
const FIRST_AUDIO_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const JITTER_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5];
/** Fine buckets for the Realtime bridge's added latency (0.1 ms … 100 ms). */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1];

export class Metrics {
  /** The registry behind the facade (for the HTTP server and tests), never the global one. */
  readonly registry = new Registry();
  private readonly clock: Clock;

  private readonly activeCalls: Gauge;
  private readonly calls: Counter<'outcome'>;
  private readonly answerLatency: Histogram;
  private readonly firstAudio: Histogram;
  private readonly packetsReceived: Counter;
  private readonly packetsSent: Counter;
  private readonly packetsLost: Counter;
  private readonly jitter: Histogram;
  private readonly realtimeErrors: Counter<'kind'>;
  private readonly realtimeReconnects: Counter;
  private readonly realtimeLatency: Histogram<'direction'>;
  private readonly internalErrors: Counter<'scope'>;

  private readonly apiAuthFailures: Counter<'reason'>;
  private readonly retentionSwept: Counter<'kind'>;
  private readonly rejectedByAccount: Counter<'account' | 'status' | 'cause'>;

  private readonly uncarriable: Counter<'problem'>;

  constructor(opts: MetricsOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    this.activeCalls = new Gauge({ name: `${p}calls_active`, help: 'Calls admitted and not yet ended.', registers });
    this.calls = new Counter({
      name: `${p}calls_total`,
      help: 'Incoming calls by final outcome (answered, cancelled, failed, no_ack, rejected_<status or class>).',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.rejectedByAccount = new Counter({
      name: `${p}calls_rejected_total`,
      help: 'INVITEs refused at admission, by account id ("none" if unknown), SIP status (or class) and cause.',
      labelNames: ['account', 'status', 'cause'] as const,
      registers,
    });
    this.answerLatency = new Histogram({
      name: `${p}invite_answer_seconds`,
      help: 'Time from receiving an INVITE to sending 200 OK.',
      buckets: ANSWER_BUCKETS,
      registers,
    });
    this.firstAudio = new Histogram({
      name: `${p}first_agent_audio_seconds`,
      help: 'Time from answering a call to sending the first agent audio to the caller.',
      buckets: FIRST_AUDIO_BUCKETS,
      registers,
    });
    this.packetsReceived = new Counter({ name: `${p}rtp_packets_received_total`, help: 'RTP packets received from callers.', registers });
    this.packetsSent = new Counter({ name: `${p}rtp_packets_sent_total`, help: 'RTP packets sent to callers.', registers });
    this.packetsLost = new Counter({
      name: `${p}rtp_packets_lost_total`,
      help: 'RTP packets from callers that never arrived (sequence gaps).',
      registers,
    });
    this.jitter = new Histogram({
      name: `${p}rtp_jitter_seconds`,
      help: 'Interarrival jitter of caller RTP (RFC 3550), sampled per call.',
      buckets: JITTER_BUCKETS,
      registers,
    });
    this.realtimeErrors = new Counter({
      name: `${p}realtime_errors_total`,
      help: 'OpenAI Realtime session errors by kind.',
      labelNames: ['kind'] as const,
      registers,
    });
    this.realtimeLatency = new Histogram({
      name: `${p}realtime_added_latency_seconds`,
      help:
        "The gateway's own added latency: up = caller RTP arrival to the WebSocket send of its audio; down = WebSocket receipt of model audio to its RTP send (for frames queued behind others: from their slot).",
      labelNames: ['direction'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.realtimeReconnects = new Counter({
      name: `${p}realtime_reconnects_total`,
      help: 'OpenAI Realtime reconnect attempts.',
      registers,
    });
    this.internalErrors = new Counter({
      name: `${p}internal_errors_total`,
      help: 'Errors nobody caught (bugs): scope "call" ended one call; "process" belonged to no call and was logged. The daemon survives both.',
      labelNames: ['scope'] as const,
      registers,
    });
    this.internalErrors.labels('call').inc(0);
    this.internalErrors.labels('process').inc(0);

    this.uncarriable = new Counter({
      name: `${p}sip_uncarriable_requests_total`,
      help: 'Requests refused because the SIP engine could not answer them faithfully (drachtio: headers not UTF-8 or too large to echo).',
      labelNames: ['problem'] as const,
      registers,
    });
    for (const problem of ['not-utf8', 'too-large']) this.uncarriable.labels(problem).inc(0);

    this.apiAuthFailures = new Counter({
      name: `${p}api_auth_failures_total`,
      help: 'Admin API requests refused for their token, by reason (missing, malformed, unknown, expired, revoked).',
      labelNames: ['reason'] as const,
      registers,
    });
    this.retentionSwept = new Counter({
      name: `${p}retention_swept_total`,
      help: 'Items removed by the retention sweeper because their account\'s retention window had passed (transcripts, recordings, cdrs).',
      labelNames: ['kind'] as const,
      registers,
    });
    for (const kind of ['transcripts', 'recordings', 'cdrs']) this.retentionSwept.labels(kind).inc(0);
    // Every outcome and kind exported from the start (at 0), so rate() and alerts work before the
    // first occurrence instead of the series appearing out of nowhere.
    for (const outcome of CALL_OUTCOMES) this.calls.labels(outcome).inc(0);
    for (const kind of REALTIME_ERROR_KINDS) this.realtimeErrors.labels(kind).inc(0);

    if (opts.defaultMetrics ?? true) {
      // CPU, memory, fds, GC, and nodejs_eventloop_lag_* (event-loop lag hurts RTP pacing first).
      collectDefaultMetrics({ register: this.registry, prefix: p });
    }
  }

  /** An INVITE was refused at admission (it never became an active call). */
  /**
   * An INVITE refused at admission. With `by`, it is also counted per account: account ids are
   * bounded by provisioning (not by callers), statuses fold into the closed outcome set and
   * causes are admission's closed set, so the series stay bounded. `account="none"` when the
   * refusal concerns no known account (an unroutable number from an unknown source).
   */
  callRejected(status: number, by?: { accountId: string | null; cause: string }): void {
    const outcome = rejectionOutcome(status);
    this.calls.labels(outcome).inc();
    if (by) this.rejectedByAccount.labels(by.accountId ?? 'none', outcome.slice('rejected_'.length), by.cause).inc();
  }

  /** An INVITE passed admission: the call is active until its tracker ends it. */
  callStarted(): CallTracker {
    const startedAt = this.clock.monotonic();
    let answeredAt: number | undefined;
    let sawAudio = false;
    let done = false;
    this.activeCalls.inc();
    const finish = (outcome: CallOutcome): void => {
      if (done) return;
      done = true;
      this.activeCalls.dec();
      this.calls.labels(outcome).inc();
    };
    return {
      answered: () => {
        if (answeredAt !== undefined || done) return;
        answeredAt = this.clock.monotonic();
        this.answerLatency.observe((answeredAt - startedAt) / 1000);
      },
      firstAgentAudio: () => {
        if (answeredAt === undefined || sawAudio) return;
        sawAudio = true;
        this.firstAudio.observe((this.clock.monotonic() - answeredAt) / 1000);
      },
      ended: (outcome) => finish(outcome ?? (answeredAt !== undefined ? 'answered' : 'failed')),
      rejected: (status) => finish(rejectionOutcome(status)),
    };
  }

  /**
   * Media packet counts. Call with deltas from the per-call RTP stats (e.g. each second or at
   * hang-up), not once per packet: it keeps the hot path free of metric updates.
   */
  rtpPackets(delta: { received?: number; sent?: number; lost?: number }): void {
    if (delta.received) this.packetsReceived.inc(nonNegative(delta.received, 'received'));
    if (delta.sent) this.packetsSent.inc(nonNegative(delta.sent, 'sent'));
    if (delta.lost) this.packetsLost.inc(nonNegative(delta.lost, 'lost'));
  }

  /** One jitter sample of a call, in milliseconds (the RTP stats' unit). */
  rtpJitter(ms: number): void {
    this.jitter.observe(nonNegative(ms, 'jitter') / 1000);
  }

  realtimeError(kind: RealtimeErrorKind): void {
    if (!(REALTIME_ERROR_KINDS as readonly string[]).includes(kind)) throw new TypeError(`unknown Realtime error kind ${String(kind)}`);
    this.realtimeErrors.labels(kind).inc();
  }

  /** One added-latency observation in milliseconds. */
  realtimeAddedLatency(direction: 'up' | 'down', ms: number): void {
    this.realtimeLatency.labels(direction).observe(Math.max(0, ms) / 1000);
  }

  /** An error nobody caught: it ended one call, or belonged to none (see app/fault-handlers.ts). */
  internalError(scope: 'call' | 'process'): void {
    this.internalErrors.labels(scope).inc();
  }

  /** A request the SIP engine refused because it could not carry an answer (see SipEngineEvents.uncarriable). */
  sipUncarriable(problem: 'not-utf8' | 'too-large'): void {
    this.uncarriable.labels(problem).inc();
  }

  realtimeReconnect(): void {
    this.realtimeReconnects.inc();
  }

  /** An admin API request refused for its token (reason is one of a closed set, never the token). */
  apiAuthFailure(reason: string): void {
    if (!API_AUTH_FAILURE_REASONS.includes(reason)) throw new TypeError(`unknown auth failure reason ${reason}`);
    this.apiAuthFailures.labels(reason).inc();
  }

  /** Items of one kind removed by a retention sweep. */
  retentionSweptItems(kind: 'transcripts' | 'recordings' | 'cdrs', n: number): void {
    this.retentionSwept.labels(kind).inc(nonNegative(n, 'swept items'));
  }

  /** The Prometheus text exposition and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function nonNegative(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`${what} must be a finite number >= 0, got ${n}`);
  return n;
}
