import type { Logger } from '../core/logger.js';
import { openProvisioning, type AppOptions, type ProvisioningApp } from './open-app.js';

/**
 * The `kalem serve` process: composition root and lifecycle. It owns every long-lived part and
 * closes them in reverse order. SIP listeners, media and the Realtime bridge are added here as
 * they land; until then it holds the store and key, and waits for a signal.
 */
export class Daemon {
  private app: ProvisioningApp | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: AppOptions) {}

  get logger(): Logger {
    if (!this.app) throw new Error('daemon not started');
    return this.app.logger;
  }

  async start(): Promise<void> {
    this.app = await openProvisioning(this.opts);
    const log = this.app.logger.child({ component: 'daemon' });
    log.info(
      { config: this.app.configPath ?? '(defaults)', store: this.app.config.store.path, pid: process.pid },
      'kalem started',
    );
  }

  /** SIGHUP: re-read what can change without dropping calls. */
  reload(): void {
    this.app?.logger.child({ component: 'daemon' }).info('reload requested');
  }

  /** Idempotent: a second call returns the same promise. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      const app = this.app;
      if (!app) return;
      app.logger.child({ component: 'daemon' }).info({ reason }, 'kalem stopping');
      app.close();
    })();
    return this.stopping;
  }
}

/** Runs the daemon until SIGTERM/SIGINT; resolves with the process exit code. */
export async function runDaemon(opts: AppOptions): Promise<number> {
  const daemon = new Daemon(opts);
  await daemon.start();
  return new Promise<number>((resolve) => {
    const onStop = (signal: NodeJS.Signals): void => {
      void daemon.stop(signal).then(() => resolve(0));
    };
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
    process.on('SIGHUP', () => daemon.reload());
  });
}
