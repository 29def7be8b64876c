import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { RETENTION_KINDS, sumCounts, type AccountSweep, type RetentionKind, type RetentionService, type SweepResult } from './retention-service.js';

export interface RetentionSweeperOptions {
  readonly service: RetentionService;
  readonly clock: Clock;
  readonly log: Logger;
  /** Between the end of one pass and the start of the next. */
  readonly intervalMs: number;
  /** Before the first pass after start. */
  readonly firstDelayMs: number;
  /** After SQLITE_BUSY (another process holds the write lock): try again this much later. */
  readonly busyRetryMs: number;
  readonly batch: number;
  /** Checkpoint + truncate the WAL after a pass that removed something. */
  readonly flush: () => { busy: boolean };
  /** Items removed, for /metrics. */
  readonly onSwept?: (kind: RetentionKind, n: number) => void;
  /** Every finished (or busy-interrupted) pass, for tests and logs. */
  readonly onPass?: (result: SweepResult & { interrupted: boolean }) => void;
}

/**
 * The daemon's retention sweeper: every `intervalMs` a pass over every account, one small batch
 * (one short transaction) at a time, yielding to the event loop between batches so calls never
 * wait behind it. It runs on a connection of its own with busy_timeout 0: when another process
 * (a CLI command) holds the write lock, the batch fails at once with SQLITE_BUSY instead of
 * blocking the event loop, and the pass is tried again `busyRetryMs` later.
 */
export class RetentionSweeper {
  private timer: TimerHandle | undefined;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: RetentionSweeperOptions) {}

  start(): void {
    this.schedule(this.o.firstDelayMs);
  }

  /** Stops scheduling; a pass under way stops at its next batch. Resolves when it has. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = this.o.clock.setTimer(ms, () => {
      this.timer = undefined;
      this.running = this.pass().finally(() => {
        this.running = undefined;
      });
    });
  }

  private async pass(): Promise<void> {
    const done: AccountSweep[] = [];
    let interrupted = false;
    try {
      for (const a of this.o.service.accounts()) {
        const counts = { transcripts: 0, recordings: 0, cdrs: 0 };
        try {
          for (const kind of RETENTION_KINDS) {
            for (;;) {
              if (this.closed) return;
              const n = this.o.service.sweepBatch(a.id, kind, this.o.batch);
              counts[kind] += n;
              if (n > 0) this.o.onSwept?.(kind, n);
              if (n < this.o.batch) break;
              await yieldToEventLoop();
            }
          }
        } finally {
          const s = { accountId: a.id, account: a.name, ...counts };
          done.push(s);
          if (s.transcripts + s.recordings + s.cdrs > 0) {
            try {
              this.o.service.auditSweep(s, 'daemon');
            } catch (err) {
              this.o.log.warn({ err: (err as Error).message, accountId: a.id }, 'retention sweep not audited');
            }
          }
        }
        await yieldToEventLoop();
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        interrupted = true;
        this.o.log.debug({ retryMs: this.o.busyRetryMs }, 'retention sweep: database busy, trying again later');
      } else {
        this.o.log.error({ err: (err as Error).message }, 'retention sweep failed');
      }
    }
    const totals = sumCounts(done);
    let walTruncated = true;
    if (totals.transcripts + totals.recordings + totals.cdrs > 0) {
      try {
        walTruncated = !this.o.flush().busy;
      } catch {
        walTruncated = false;
      }
      this.o.log.info({ ...totals, walTruncated }, 'retention sweep removed expired call data');
    }
    this.o.onPass?.({ accounts: done, totals, walTruncated, interrupted });
    this.schedule(interrupted ? this.o.busyRetryMs : this.o.intervalMs);
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
