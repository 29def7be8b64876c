import type { Metrics } from '../api/metrics.js';
import type { Logger } from '../core/logger.js';
import { RetentionService } from '../privacy/retention-service.js';
import { RetentionSweeper } from '../privacy/retention-sweeper.js';
import { openDatabase } from '../store/database.js';
import { SqliteTenantStore } from '../store/sqlite-tenant-store.js';
import type { ProvisioningApp } from './open-app.js';
import { recordingService } from './recordings.js';

/** First pass soon after start (data that expired while the daemon was down), then every 10 minutes. */
export const SWEEP_FIRST_DELAY_MS = 2_000;
export const SWEEP_INTERVAL_MS = 10 * 60_000;
export const SWEEP_BUSY_RETRY_MS = 5_000;
export const SWEEP_BATCH = 100;

/**
 * The daemon's retention sweeper, on a database connection of its own with busy_timeout 0: a
 * batch that meets another process's write lock fails at once (and is retried later) instead of
 * making the event loop, and with it every call's audio, wait for the lock.
 */
export function startRetentionSweeper(app: ProvisioningApp, metrics: Metrics, log: Logger): { close(): Promise<void> } {
  const db = openDatabase({ path: app.config.store.path, busyTimeoutMs: 0 });
  const store = new SqliteTenantStore(db);
  const sweeper = new RetentionSweeper({
    // Recording files are unlinked asynchronously here: the sweeper shares the event loop with calls.
    service: new RetentionService(store, app.clock, 'daemon', recordingService({ ...app, store }, app.sodium, 'daemon', false, log)),
    clock: app.clock,
    log,
    intervalMs: SWEEP_INTERVAL_MS,
    firstDelayMs: SWEEP_FIRST_DELAY_MS,
    busyRetryMs: SWEEP_BUSY_RETRY_MS,
    batch: SWEEP_BATCH,
    flush: () => store.flushErased(),
    onSwept: (kind, n) => metrics.retentionSweptItems(kind, n),
  });
  sweeper.start();
  return {
    async close() {
      await sweeper.close();
      store.close();
    },
  };
}
