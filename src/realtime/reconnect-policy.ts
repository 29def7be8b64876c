/**
 * When and how often to reconnect a dropped Realtime session.
 *
 * After livekit agents-js: only errors that say `retryable` are retried, with exponential backoff
 * and jitter, inside a budget of attempts and of total time — a caller on hold hears silence, so
 * the budget is short (a few seconds), and a key the server refused is never tried again.
 * The policy is pure (`delayFor`); `reconnectWithPolicy` is the thin loop that sleeps on a Clock.
 */
import type { Clock } from '../core/clock.js';
import { isRetryable, RealtimeError } from './realtime-error.js';

export interface ReconnectPolicyOptions {
  /** Attempts after the failure that triggered reconnection. Default 4. */
  readonly maxAttempts?: number;
  /** Delay before the first attempt. Default 100. */
  readonly initialDelayMs?: number;
  /** Upper bound of one delay. Default 2000. */
  readonly maxDelayMs?: number;
  /** Growth factor between attempts. Default 2. */
  readonly multiplier?: number;
  /** Total time from the first failure after which no attempt starts. Default 8000. */
  readonly budgetMs?: number;
  /** Fraction of each delay that is random (0 = none). Default 0.2. */
  readonly jitter?: number;
  /** Source of randomness in [0, 1); injectable so tests are exact. */
  readonly random?: () => number;
}

export class ReconnectPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly budgetMs: number;
  readonly jitter: number;
  private readonly random: () => number;

  constructor(options: ReconnectPolicyOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.initialDelayMs = options.initialDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 2000;
    this.multiplier = options.multiplier ?? 2;
    this.budgetMs = options.budgetMs ?? 8000;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 0) throw new TypeError('maxAttempts must be an integer >= 0');
    if (!(this.initialDelayMs >= 0)) throw new TypeError('initialDelayMs must be >= 0');
    if (!(this.maxDelayMs >= this.initialDelayMs)) throw new TypeError('maxDelayMs must be >= initialDelayMs');
    if (!(this.multiplier >= 1)) throw new TypeError('multiplier must be >= 1');
    if (!(this.budgetMs >= 0)) throw new TypeError('budgetMs must be >= 0');
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new TypeError('jitter must be 0..1');
  }

  /**
   * How long to wait before attempt number `attempt` (1-based), given the error that ended the
   * previous one and the time spent since the first failure; null = give up.
   */
  delayFor(attempt: number, err: unknown, elapsedMs: number): number | null {
    if (!isRetryable(err)) return null;
    if (attempt > this.maxAttempts) return null;
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * this.multiplier ** (attempt - 1));
    let delay = base * (1 - this.jitter * this.random());
    // A server that says when to come back is believed, within the budget.
    const retryAfter = err instanceof RealtimeError ? err.retryAfterMs : undefined;
    if (retryAfter !== undefined) delay = Math.max(delay, retryAfter);
    if (elapsedMs + delay > this.budgetMs) return null;
    return Math.round(delay);
  }
}

export interface ReconnectOptions {
  readonly policy: ReconnectPolicy;
  readonly clock: Clock;
  /** Aborts the loop (the call ended): the pending wait stops and the loop rejects. */
  readonly signal?: AbortSignal;
  /** Told before each wait, for logs and metrics. */
  readonly onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
}

/**
 * Runs `attempt` until it succeeds, the policy gives up (rejecting with the last error), or the
 * signal aborts (rejecting with a `closed` RealtimeError). `firstError` is the failure that made
 * reconnection necessary; the first attempt waits the policy's first delay.
 */
export async function reconnectWithPolicy<T>(
  firstError: unknown,
  attempt: (attemptNumber: number) => Promise<T>,
  options: ReconnectOptions,
): Promise<T> {
  const { policy, clock, signal } = options;
  const startedAt = clock.monotonic();
  let lastError = firstError;
  for (let n = 1; ; n++) {
    const delay = policy.delayFor(n, lastError, clock.monotonic() - startedAt);
    if (delay === null) throw lastError;
    options.onRetry?.(n, delay, lastError);
    await sleep(clock, delay, signal);
    try {
      return await attempt(n);
    } catch (err) {
      if (signal?.aborted) throw abortError();
      lastError = err;
    }
  }
}

function abortError(): RealtimeError {
  return new RealtimeError('closed', 'reconnection abandoned: the session was closed');
}

function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(abortError());
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
