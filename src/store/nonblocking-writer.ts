/**
 * Writes that must never make the event loop wait on SQLite's write lock.
 *
 * The call path (CDR insert and update, sealed transcripts, audit rows the daemon writes) runs
 * on the one thread that also paces every call's audio and runs every SIP timer. A connection
 * with a busy timeout would sleep inside the SQLite call whenever another process (a CLI bulk
 * import, a master-key rotation) holds the write lock: up to the whole timeout, with every
 * call frozen. So these writes go through this queue instead:
 *
 *  - its connection has `busy_timeout = 0`: BEGIN IMMEDIATE either gets the lock at once or
 *    fails at once with SQLITE_BUSY;
 *  - a job that meets a held lock stays at the head of the queue and is retried on a timer with
 *    exponential backoff (5 ms doubling to 250 ms), so nothing waits and the lock holder is not
 *    hammered;
 *  - jobs run strictly in the order they were queued (one FIFO for everything), so a call's CDR
 *    insert always lands before its update and its transcript, whatever the lock did;
 *  - the queue is bounded: past `maxQueued` a new job is refused (enqueue returns false and
 *    `dropped` counts it) instead of growing without limit while a lock is held for minutes;
 *  - `flush()` (drain, shutdown) keeps retrying until the queue is empty or its deadline passes.
 *
 * When the lock is free (the normal case) a job runs synchronously inside `enqueue`, so a write
 * is visible as soon as the call that made it returns, exactly as before.
 *
 * Why not a worker thread with its own connection: the jobs need the account keys (sealing a
 * transcript) and the repositories as closures; a worker would need a message protocol for
 * every kind of write and a second copy of the key material, for a gain (taking the few tens of
 * microseconds of a WAL commit with synchronous=NORMAL off the loop) that the call path does not
 * need. The lock wait, which is the real stall, is removed either way. Bulk work (a retention
 * sweep) should be queued as many small jobs, each a bounded batch, not one long one.
 *
 * A job is a function run inside one IMMEDIATE transaction on the writer's connection: all of
 * it lands or none of it. A job that fails for any other reason than a held lock is dropped and
 * reported through the `failed` event; the queue carries on with the next one.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { Db } from './database.js';

export interface NonBlockingWriterOptions {
  /** A connection for this writer alone; its busy_timeout is set to 0 here. */
  readonly db: Db;
  readonly clock: Clock;
  /** Most jobs waiting at once (default 10 000). */
  readonly maxQueued?: number;
  /** First retry delay after SQLITE_BUSY (default 5 ms), doubled on each retry... */
  readonly minBackoffMs?: number;
  /** ...up to this (default 250 ms). */
  readonly maxBackoffMs?: number;
}

export interface WriteJobFailure {
  readonly label: string;
  readonly error: Error;
}

export type NonBlockingWriterEvents = {
  /** A job failed for a reason other than a held lock and was dropped. */
  failed: [failure: WriteJobFailure];
  /** A job was refused because the queue was full (or the writer closed). */
  dropped: [label: string];
  /** The queue became empty after having waited on a lock. */
  idle: [];
  /** The first job of a run met a held lock (once per blocked stretch). */
  blocked: [label: string];
};

export interface NonBlockingWriterStats {
  readonly queued: number;
  readonly written: number;
  readonly failed: number;
  readonly dropped: number;
  /** Times a job met SQLITE_BUSY and was retried later. */
  readonly busyRetries: number;
}

interface Job {
  readonly label: string;
  readonly run: (db: Db) => void;
}

/** SQLITE_BUSY and its extended codes, SQLITE_LOCKED: someone else holds what we need; retry. */
export function isLockError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export class NonBlockingWriter extends TypedEmitter<NonBlockingWriterEvents> {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly maxQueued: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly queue: Job[] = [];
  private head = 0;
  private retryTimer: TimerHandle | undefined;
  private backoffMs: number;
  private waitedOnLock = false;
  private closed = false;
  private written = 0;
  private failed = 0;
  private droppedCount = 0;
  private busyRetries = 0;

  constructor(opts: NonBlockingWriterOptions) {
    super();
    this.db = opts.db;
    this.clock = opts.clock;
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.minBackoffMs = opts.minBackoffMs ?? 5;
    this.maxBackoffMs = opts.maxBackoffMs ?? 250;
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 1) throw new TypeError('maxQueued must be an integer ≥ 1');
    if (!(this.minBackoffMs > 0 && this.maxBackoffMs >= this.minBackoffMs)) throw new TypeError('0 < minBackoffMs ≤ maxBackoffMs');
    this.backoffMs = this.minBackoffMs;
    this.db.pragma('busy_timeout = 0');
  }

  /** The writer's connection (for reads that must see its writes; never for writes). */
  get connection(): Db {
    return this.db;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  stats(): NonBlockingWriterStats {
    return { queued: this.pending, written: this.written, failed: this.failed, dropped: this.droppedCount, busyRetries: this.busyRetries };
  }

  /**
   * Queues a write. Runs it at once when nothing is waiting and the lock is free. Returns false
   * (nothing will be written) when the queue is full or the writer is closed.
   */
  enqueue(label: string, run: (db: Db) => void): boolean {
    if (this.closed || this.pending >= this.maxQueued) {
      this.droppedCount++;
      this.emit('dropped', label);
      return false;
    }
    this.queue.push({ label, run });
    if (this.retryTimer === undefined) this.drain();
    return true;
  }

  /**
   * Retries until every queued job is written or `timeoutMs` has passed; resolves with the
   * number of jobs still queued (0: all written). For drain and shutdown.
   */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = this.clock.monotonic() + timeoutMs;
    for (;;) {
      this.retryTimer?.cancel();
      this.retryTimer = undefined;
      this.drain();
      if (this.pending === 0) return 0;
      const left = deadline - this.clock.monotonic();
      if (left <= 0) return this.pending;
      await new Promise<void>((resolve) => this.clock.setTimer(Math.min(this.backoffMs, left), resolve));
    }
  }

  /** Stops retrying; jobs still queued are dropped (counted). Does not close the connection. */
  close(): number {
    this.closed = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    const left = this.pending;
    for (let i = this.head; i < this.queue.length; i++) {
      this.droppedCount++;
      this.emit('dropped', this.queue[i]!.label);
    }
    this.queue.length = 0;
    this.head = 0;
    return left;
  }

  /** Runs jobs from the head until the queue is empty or the lock is held (then retries later). */
  private drain(): void {
    while (this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      try {
        this.db.transaction(() => job.run(this.db)).immediate();
        this.written++;
      } catch (err) {
        if (isLockError(err)) {
          this.busyRetries++;
          if (!this.waitedOnLock) this.emit('blocked', job.label);
          this.waitedOnLock = true;
          this.scheduleRetry();
          return;
        }
        this.failed++;
        this.emit('failed', { label: job.label, error: err instanceof Error ? err : new Error(String(err)) });
      }
      this.queue[this.head] = undefined as unknown as Job; // let the closure go
      this.head++;
      this.backoffMs = this.minBackoffMs;
    }
    this.queue.length = 0;
    this.head = 0;
    if (this.waitedOnLock) {
      this.waitedOnLock = false;
      this.emit('idle');
    }
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      this.drain();
    });
  }
}
