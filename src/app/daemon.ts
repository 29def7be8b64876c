import { isIP } from 'node:net';
import type { Logger } from '../core/logger.js';
import { AdmissionControl } from '../calls/admission.js';
import { CallController } from '../calls/call-controller.js';
import { CallRegistry } from '../calls/call-registry.js';
import { RtpPortAllocator } from '../media/port-allocator.js';
import { FrameClock } from '../media/frame-clock.js';
import { readPromptWav } from '../media/prompts.js';
import { RealtimeClient } from '../realtime/realtime-client.js';
import { ReconnectPolicy } from '../realtime/reconnect-policy.js';
import type { RealtimeCallDeps } from '../calls/call-session.js';
import type { ProvisioningApp as App } from './open-app.js';
import { MediaAnchor } from '../media/rtpengine/media-anchor.js';
import { openRtpengine, type Rtpengine } from '../media/rtpengine/open-rtpengine.js';
import type { KalemConfig } from '../config/schema.js';
import type { SipEngine } from '../sip/sip-engine.js';
import { ApiServer, type HealthChecks } from '../api/http-server.js';
import { Metrics } from '../api/metrics.js';
import { sdNotify } from './sd-notify.js';
import { capacityProblems } from './capacity.js';
import { kalemError } from '../core/errors.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.js';
import { explainListenError } from './startup-errors.js';
import { diffConfig } from '../config/diff.js';
import { installFaultHandlers } from './fault-handlers.js';

/** Settings a SIGHUP applies without a restart (the TLS files are re-read in any case). */
const RELOADABLE = new Set(['log.level']);
/** How long shutdown keeps retrying call-path writes that wait on another process's lock. */
const STORE_FLUSH_MS = 10_000;
import { configureApp, openProvisioning, type AppOptions, type ProvisioningApp } from './open-app.js';
import { buildSipEngine } from './sip-engine-factory.js';
import { buildDigestVerifier } from './sip-policy.js';
import { TrustedSources } from '../tenancy/trusted-sources.js';
import { ProvisioningService } from '../tenancy/provisioning-service.js';
import { CallRecordsService } from '../tenancy/call-records-service.js';
import type { TokenService } from '../api/tokens/token-service.js';
import { buildTokenService } from './token-service-factory.js';
import { ErasureService } from '../privacy/erasure-service.js';
import { CallPathStore } from './call-path-store.js';
import { RecentAuthentications } from '../sip/recent-authentications.js';
import { assertIntact, StoreHealth } from '../store/store-health.js';
import { daemonHealthChecks } from './daemon-health.js';
import { startRetentionSweeper } from './retention.js';
import { recordingService, recordingStarter } from './recordings.js';
import { KbLookup } from '../tools/kb-search.js';
import type { KnowledgeApp } from './knowledge.js';
import { SqliteVecWorker } from '../kb/sqlite-vec-worker.js';
import { loadPhoneMetadata } from '../tenancy/e164.js';

/**
 * The `kalem serve` process: composition root and lifecycle. It builds every long-lived part,
 * starts them in order, and stops them in reverse:
 *
 *   start: store + key → rtpengine (managed: started and pinged; external: pinged) → SIP engine
 *          (listeners) → ready
 *   SIGTERM: stop accepting (INVITE and OPTIONS get 503) → wait for calls up to drain_timeout_ms
 *            → BYE the rest → close the engine → wait for the calls' rtpengine deletes → stop
 *            rtpengine → close the store → exit 0
 *   rtpengine dying (managed): the calls it carried are ended with BYE at once, INVITEs get 503
 *            until the supervisor has it back (`ready`)
 *   second SIGTERM: skip the wait, still release what can be released
 *   SIGHUP: reload TLS certificates
 */
export class Daemon {
  private app: ProvisioningApp | undefined;
  private engine: SipEngine | undefined;
  private controller: CallController | undefined;
  private stopping: Promise<void> | undefined;
  private hurry: (() => void) | undefined;
  private log: Logger | undefined;
  private api: ApiServer | undefined;
  private tokens: TokenService | undefined;
  private rtpengineValue: Rtpengine | undefined;
  private anchor: MediaAnchor | undefined;
  private frameClock: FrameClock | undefined;
  private callPathStore: CallPathStore | undefined;
  private metrics: Metrics | undefined;
  private sweeper: { close(): Promise<void> } | undefined;
  private knowledge: KnowledgeApp | undefined;

  constructor(private readonly opts: AppOptions) {}

  get sipEngine(): SipEngine {
    if (!this.engine) throw new Error('daemon not started');
    return this.engine;
  }

  get calls(): CallController {
    if (!this.controller) throw new Error('daemon not started');
    return this.controller;
  }

  /** The queue the call path's database writes go through (see store/nonblocking-writer.ts). */
  get storeWriter(): CallPathStore['writer'] {
    if (!this.callPathStore) throw new Error('daemon not started');
    return this.callPathStore.writer;
  }

  /** The rtpengine in front of our media (undefined with rtpengine.mode = "off"). */
  get rtpengine(): Rtpengine | undefined {
    return this.rtpengineValue;
  }

  /** The call-level rtpengine API (undefined with rtpengine.mode = "off"). */
  get mediaAnchor(): MediaAnchor | undefined {
    return this.anchor;
  }

  async start(): Promise<void> {
    // Every check that needs only the config and this machine comes before anything is opened
    // or created (the config's own cross-checks run inside configureApp).
    const problems = capacityProblems(configureApp(this.opts).config);
    if (problems.length > 0) throw kalemError('KALEM_ERR_CONFIG_INVALID', problems.join('; '));
    const app = await openProvisioning(this.opts);
    this.app = app;
    loadPhoneMetadata(); // loaded lazily by the CLI; here before the first INVITE needs it
    const config = app.config;
    const log = app.logger.child({ component: 'daemon' });
    this.log = log;
    if (app.configPath === null) log.warn({ looked: DEFAULT_CONFIG_PATH }, 'no config file: running on built-in defaults (give --config FILE or KALEM_CONFIG)');
    // A damaged file must not take calls (half a numbers table routes calls wrongly) nor writes.
    try {
      assertIntact(app.store.db, config.store.path);
    } catch (err) {
      app.close();
      throw err;
    }
    const storeHealth = new StoreHealth(app.store.db);
    try {
      const writes = new CallPathStore({
        path: config.store.path,
        clock: app.clock,
        keyring: app.keyring,
        log: app.logger.child({ component: 'store' }),
        health: storeHealth,
      });
      this.callPathStore = writes;
      const registry = new CallRegistry();
      // prom-client's default metrics include an event-loop delay monitor: a 10 ms libuv timer
      // that wakes an idle daemon 100 times a second (about 3 ms CPU/s on the benchmark box).
      // With [api] port = -1 nothing can scrape them, so they are not collected at all.
      const metrics = new Metrics({ clock: app.clock, defaultMetrics: config.api.port !== -1 || httpsEnabled(config) });
      this.metrics = metrics;
      const trusted = new TrustedSources(app.store.trunks, app.clock);
      // Digest-only trunks have no CIDR: once their credentials verify, their address is spared
      // the stranger's rate limit like a trunk address.
      const authenticated = new RecentAuthentications(app.clock);
      const rtpengine = await this.openRtpengine(config, log);
      const anchor = rtpengine && new MediaAnchor(rtpengine.client, { interfaces: rtpengine.interfaces });
      this.anchor = anchor;
      const engine = buildSipEngine(
        config,
        app.clock,
        app.logger.child({ component: 'sip' }),
        (a) => trusted.has(a),
        (a) => authenticated.has(a),
      );
      engine.on('warning', (message) => log.warn({ message }, 'sip warning'));
      engine.on('uncarriable', (problem) => metrics.sipUncarriable(problem));
      const admission = new AdmissionControl(
        app.store,
        registry,
        buildDigestVerifier(config, app.clock),
        (accountId, trunkId) => app.provisioning.openTrunkPassword(accountId, trunkId),
        (b) => app.keyring.wipe(b),
        { maxCalls: config.daemon.max_calls, retryAfterS: config.sip.retry_after_s, realm: config.sip.auth_realm },
        // A managed rtpengine being restarted cannot take calls; an external one is found
        // unreachable by the offer itself (also a 503).
        () => rtpengine?.supervisor === undefined || rtpengine.supervisor.state === 'ready',
        (source) => authenticated.remember(source),
      );
      // Behind rtpengine our sockets face only its internal interface: loopback.
      const rtp = new RtpPortAllocator(anchor ? '127.0.0.1' : config.media.address, config.media.port_min, config.media.port_max);
      const sdpAddressOverride = config.media.public_address ?? config.sip.public_address;
      this.controller = new CallController(
        engine,
        admission,
        registry,
        {
          clock: app.clock,
          log: app.logger.child({ component: 'calls' }),
          registry,
          cdrs: writes.cdrs,
          rtp,
          echoRingMs: config.calls.echo_ring_ms,
          mediaTimeoutMs: config.calls.media_timeout_ms,
          metrics,
          ...(anchor ? { anchor: { port: anchor, rtp } } : {}),
          realtime: this.realtimeDeps(app, metrics, writes, await this.kbDeps(app)),
          retryAfterS: config.sip.retry_after_s,
          sdpAddress: (call) => sdpAddressOverride ?? (isIP(config.media.address) && config.media.address !== '0.0.0.0' ? config.media.address : call.info.localAddress),
        },
        app.logger.child({ component: 'calls' }),
        storeHealth,
      );
      this.engine = engine;
      if (rtpengine?.supervisor && anchor) {
        const controller = this.controller;
        rtpengine.supervisor.on('exited', (info) => {
          // Its calls have no media any more, and the rtpengine that comes back does not know them.
          const lost = anchor.forgetAll();
          const ended = controller.mediaLost(lost);
          log.error({ pid: info.pid, code: info.code, signal: info.signal, calls: ended }, 'rtpengine died: ending its calls; new calls get 503 until it is back');
        });
        rtpengine.supervisor.on('ready', (info) => log.info({ pid: info.pid, restarts: info.restarts }, 'rtpengine ready: taking calls'));
        rtpengine.supervisor.on('failed', (err) => log.error({ err: err.message }, 'rtpengine restart budget spent: calls get 503 until kalem is restarted'));
      }
      await engine.start().catch((err: unknown) => {
        throw explainListenError(err, config) ?? err;
      });
      this.sweeper = startRetentionSweeper(app, metrics, app.logger.child({ component: 'retention' }));
      if (config.api.port !== -1 || httpsEnabled(config)) {
        const checks = daemonHealthChecks({
          engine,
          store: storeHealth,
          writer: writes.writer,
          draining: () => this.stopping !== undefined,
          rtpengineNg: this.rtpengineValue?.ngAddress ?? (config.rtpengine.mode === 'off' ? config.rtpengine.ng_address : null),
        });
        this.api = this.buildApiServer(app, metrics, checks);
        await this.api.listen().catch((err: unknown) => {
          throw explainListenError(err, config) ?? err;
        });
      }
      sdNotify(`READY=1\nSTATUS=accepting calls on ${engine.listening().map((l) => `${l.transport}/${l.port}`).join(' ')}\nMAINPID=${process.pid}`);
      log.info(
        {
          config: app.configPath ?? '(defaults)',
          engine: engine.name,
          listening: engine.listening(),
          api: this.api?.address() ?? null,
          apiHttps: this.api?.httpsAddress() ?? null,
          pid: process.pid,
        },
        'kalem started',
      );
    } catch (err) {
      await this.sweeper?.close().catch(() => undefined);
      await this.engine?.stop().catch(() => undefined);
      await this.rtpengineValue?.close().catch(() => undefined);
      await this.callPathStore?.close(0);
      await this.knowledge?.close().catch(() => undefined);
      app.close();
      throw err;
    }
  }

  /**
   * managed: starts rtpengine and resolves once it answers ping (a start failure fails the
   * daemon's start). external: pings it once and only warns when it does not answer, since it
   * may come up later; until then INVITEs get 503.
   */
  private async openRtpengine(config: KalemConfig, log: Logger): Promise<Rtpengine | undefined> {
    const r = config.rtpengine;
    if (r.mode === 'off') return undefined;
    const logger = this.app!.logger.child({ component: 'rtpengine' });
    if (r.mode === 'external') {
      if (r.ng_address === null) throw new TypeError('rtpengine.mode = "external" needs rtpengine.ng_address');
      if ((r.carrier_interface === null) !== (r.internal_interface === null)) {
        throw new TypeError('rtpengine.carrier_interface and rtpengine.internal_interface are set together or not at all');
      }
      const rtpengine = await openRtpengine({
        mode: 'external',
        ngAddress: r.ng_address,
        commandTimeoutMs: r.command_timeout_ms,
        logger,
        ...(r.carrier_interface !== null && r.internal_interface !== null ? { interfaces: { carrier: r.carrier_interface, internal: r.internal_interface } } : {}),
      });
      this.rtpengineValue = rtpengine;
      try {
        await rtpengine.client.ping({ timeoutMs: Math.min(1000, r.command_timeout_ms) });
        log.info({ ngAddress: r.ng_address }, 'rtpengine (external) answers');
      } catch (err) {
        log.warn({ ngAddress: r.ng_address, err: (err as Error).message }, 'rtpengine (external) does not answer: INVITEs get 503 until it does');
      }
      return rtpengine;
    }
    const listen = config.sip.listen_address;
    const interfaceAddress = r.interface_address ?? (isIP(listen) && listen !== '0.0.0.0' && listen !== '::' ? listen : '127.0.0.1');
    if (r.interface_address === null && interfaceAddress === '127.0.0.1' && listen !== '127.0.0.1') {
      log.warn('rtpengine.interface_address is not set: media is anchored on 127.0.0.1, which carriers cannot reach');
    }
    const rtpengine = await openRtpengine({
      mode: 'managed',
      ...(r.ng_address === null ? {} : { ngAddress: r.ng_address }),
      interfaceAddress,
      portMin: r.port_min,
      portMax: r.port_max,
      binary: r.binary,
      commandTimeoutMs: r.command_timeout_ms,
      logger,
    });
    this.rtpengineValue = rtpengine;
    return rtpengine;
  }

  /**
   * Errors nobody caught end the call they came from, or are logged, instead of ending the
   * process (fault-handlers.ts). Only for the real daemon process: a test runner keeps its own.
   */
  guardProcess(): () => void {
    if (!this.app || !this.metrics) throw new Error('daemon not started');
    return installFaultHandlers(this.app.logger.child({ component: 'daemon' }), this.metrics);
  }

  /**
   * The HTTP side: ops routes and the admin API. API requests use the same services as the CLI,
   * made per request with the token as the audit actor.
   */
  private buildApiServer(app: ProvisioningApp, metrics: Metrics, checks: HealthChecks): ApiServer {
    const api = app.config.api;
    this.tokens = buildTokenService(app, 'daemon');
    return new ApiServer({
      ...(api.port !== -1 ? { host: api.listen_address, port: api.port } : {}),
      ...(httpsEnabled(app.config)
        ? { https: { host: api.https_address, port: api.https_port, certFile: api.tls_cert_file!, keyFile: api.tls_key_file! } }
        : {}),
      metrics,
      logger: app.logger.child({ component: 'api' }),
      checks,
      services: {
        tokens: this.tokens,
        provisioning: (actor) => new ProvisioningService(app.store, app.keyring, app.clock, actor),
        callRecords: (actor) => new CallRecordsService(app.store, app.keyring, app.clock, actor),
        erasure: (actor) => new ErasureService(app.store, app.keyring, app.clock, actor, recordingService(app, app.sodium, actor, false, app.logger.child({ component: 'recording' }))),
        recordings: (actor) => recordingService(app, app.sodium, actor, false, app.logger.child({ component: 'recording' })),
        usage: app.usage,
        dropAccountVectors: async (accountId) => {
          await this.knowledge?.knowledge.dropAccount(accountId);
        },
      },
      opsRequireToken: api.ops_require_token,
      bodyLimitBytes: api.body_limit_bytes,
      rateLimitPerMinute: api.rate_limit_per_minute,
      authFailuresPerMinute: api.auth_failures_per_minute,
      clock: app.clock,
    });
  }

  /** The admin API's HTTPS listener, when enabled. */
  apiHttpsAddress(): { address: string; port: number } | undefined {
    return this.api?.httpsAddress();
  }

  /** Port of the health/metrics listener, when enabled. */
  apiAddress(): { address: string; port: number } | undefined {
    return this.api?.address();
  }

  /**
   * SIGHUP: re-read what can change without dropping calls. The TLS certificate and key are
   * re-read (new connections get them, existing ones keep theirs) and `log.level` is applied;
   * every other changed setting is named in the log as needing a restart. A config file that no
   * longer loads is reported and nothing changes.
   */
  async reload(): Promise<void> {
    const app = this.app;
    const log = this.log;
    if (!app || !log) return;
    sdNotify('RELOADING=1');
    try {
      if (app.configPath) {
        try {
          const { config: next } = loadConfig({ path: app.configPath, env: app.env });
          const changed = diffConfig(app.config, next);
          if (changed.includes('log.level')) app.logger.level = next.log.level;
          const needRestart = changed.filter((k) => !RELOADABLE.has(k));
          if (needRestart.length > 0) log.warn({ settings: needRestart }, 'changed settings need a restart to take effect');
        } catch (err) {
          log.error({ err: (err as Error).message }, 'config no longer loads; nothing was reloaded from it');
        }
      }
      await this.engine?.reloadTls();
      try {
        this.api?.reloadTls();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'API TLS reload failed; the old certificate stays in use');
      }
      log.info('reloaded TLS certificates');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'TLS reload failed; the old certificates stay in use');
    } finally {
      sdNotify('READY=1');
    }
  }

  /**
   * What realtime agents need: one FrameClock paces every call's outbound audio, the account's
   * secrets are unsealed per connection, transcripts and refusals go to the store.
   */
  private realtimeDeps(app: App, metrics: Metrics, writes: CallPathStore, kb: NonNullable<RealtimeCallDeps['kb']>): RealtimeCallDeps {
    const rt = app.config.realtime;
    const frameClock = new FrameClock(app.clock, {
      onError: (err) => app.logger.error({ err: (err as Error).message }, 'frame tick listener failed'),
    });
    this.frameClock = frameClock;
    const apology = rt.apology_prompt ? readPromptWav(rt.apology_prompt) : undefined;
    const base = rt.base_url;
    return {
      frameClock,
      reorderMs: app.config.media.reorder_window_ms,
      urlFor: (model) => `${base}${base.includes('?') ? '&' : '?'}model=${encodeURIComponent(model)}`,
      authScheme: rt.auth_scheme,
      connectTimeoutMs: rt.connect_timeout_ms,
      reconnect: () => new ReconnectPolicy({ maxAttempts: rt.reconnect_attempts, budgetMs: rt.reconnect_budget_ms }),
      newClient: (log) => {
        const client = new RealtimeClient({ logger: log, clock: app.clock });
        client.on('disconnected', (err) => {
          metrics.realtimeError(err.kind);
        });
        // Refused or failed connects too (a 401 key, quota, the API down); not one the call
        // itself aborted (a CANCEL while connecting is no error of the API).
        client.on('connect_failed', (err) => {
          if (err.kind !== 'closed') metrics.realtimeError(err.kind);
        });
        return client;
      },
      openSecret: (accountId, name) => {
        try {
          return app.provisioning.openSecret(accountId, name);
        } catch (err) {
          if ((err as { code?: string }).code === 'KALEM_ERR_UNKNOWN_SECRET') return undefined;
          throw err;
        }
      },
      wipe: (b) => app.keyring.wipe(b),
      resamplerQuality: rt.resampler_quality,
      dtmfCollectMs: rt.dtmf_collect_ms,
      ...(apology ? { apology } : {}),
      webhook: {
        timeoutMs: rt.webhook_timeout_ms,
        maxResponseBytes: rt.webhook_max_response_bytes,
        fillerAfterMs: rt.webhook_filler_after_ms,
        allowPrivateNetworks: rt.webhook_allow_private_networks,
      },
      latency: {
        up: (ms) => metrics.realtimeAddedLatency('up', ms),
        down: (ms) => metrics.realtimeAddedLatency('down', ms),
      },
      reconnected: () => metrics.realtimeReconnect(),
      startRecording: recordingStarter(app, app.sodium, app.logger.child({ component: 'recording' }), writes),
      recordingAnnouncement: (accountId, agentId) => app.store.agents.announcement(accountId, agentId),
      storeTranscript: (accountId, callId, turns) => writes.storeTranscript(accountId, callId, turns),
      kb,
      audit: (accountId, action, details) =>
        writes.audit({
          at: new Date(app.clock.now()).toISOString(),
          actor: 'daemon',
          accountId,
          action,
          target: String(details['callId'] ?? ''),
          details,
        }),
    };
  }

  /**
   * Knowledge bases on calls: an agent linked to bases gets a KbLookup of its own per call
   * (kb_search), searching only the call's account through its own key.
   */
  private async kbDeps(app: App): Promise<NonNullable<RealtimeCallDeps['kb']>> {
    // Loaded here, not at the top: `kalem` commands that never serve should not load the kb stack.
    const { openKnowledge } = await import('./knowledge.js');
    // sqlite-vec scans an account's vectors synchronously: on a call that runs in a worker thread.
    const worker = new SqliteVecWorker(app.config.store.path, app.config.store.busy_timeout_ms, app.config.kb.sqlite_vec_prefilter);
    worker.warm();
    const knowledge = openKnowledge(app, { sqliteVecSearcher: (q) => worker.search(q) });
    this.knowledge = {
      knowledge: knowledge.knowledge,
      close: async () => {
        await worker.close();
        await knowledge.close();
      },
    };
    const kb = app.config.kb;
    return {
      lookupFor: (accountId, agentId, log) => {
        let bases;
        try {
          bases = knowledge.knowledge.basesOfAgent(accountId, agentId);
        } catch (err) {
          log.error({ err: (err as Error).message }, 'knowledge bases of the agent could not be read: no kb_search on this call');
          return undefined;
        }
        if (bases.length === 0) return undefined;
        return new KbLookup({
          search: (a, b, q, o) => knowledge.knowledge.search(a, b, q, o),
          accountId,
          bases,
          k: kb.search_k,
          minScore: kb.search_min_score,
          timeoutMs: kb.search_timeout_ms,
          clock: app.clock,
          log,
        });
      },
    };
  }

  /**
   * Graceful stop; idempotent. A second call while draining cuts the drain short (the second
   * SIGTERM), but every release step still runs.
   */
  stop(reason: string): Promise<void> {
    if (this.stopping) {
      this.hurry?.();
      return this.stopping;
    }
    this.stopping = (async () => {
      const app = this.app;
      if (!app) return;
      const log = this.log!;
      sdNotify('STOPPING=1\nSTATUS=draining calls');
      log.info({ reason, calls: this.controller?.activeCalls ?? 0 }, 'kalem stopping: draining calls');
      if (this.controller) {
        const hurried = new Promise<void>((resolve) => (this.hurry = resolve));
        const left = await Promise.race([
          this.controller.drain(app.config.daemon.drain_timeout_ms),
          hurried.then(() => this.controller!.activeCalls),
        ]);
        if (left > 0) log.warn({ calls: left }, 'drain time over: ending the remaining calls');
      }
      await this.sweeper?.close();
      await this.engine?.stop();
      // Every call is over: let their rtpengine deletes finish, then stop (or let go of) rtpengine.
      await this.controller?.mediaReleased();
      await this.rtpengineValue?.close();
      // Every call has ended, so nothing more is queued: write what waited on a lock.
      const lost = await this.callPathStore?.close(STORE_FLUSH_MS);
      if (lost) log.error({ writes: lost }, 'database still locked at shutdown: queued call-path writes lost');
      // Last, so metrics can be scraped during the drain.
      this.frameClock?.close();
      await this.api?.close();
      this.tokens?.close();
      await this.knowledge?.close();
      app.close();
      log.info('kalem stopped');
    })();
    return this.stopping;
  }
}

/** The admin API's HTTPS listener is on: a port and both TLS files. */
function httpsEnabled(config: KalemConfig): boolean {
  return config.api.https_port !== -1 && config.api.tls_cert_file !== null && config.api.tls_key_file !== null;
}

/** Runs the daemon until SIGTERM/SIGINT; resolves with the process exit code. */
export async function runDaemon(opts: AppOptions): Promise<number> {
  const daemon = new Daemon(opts);
  await daemon.start();
  const unguard = daemon.guardProcess();
  return new Promise<number>((resolve) => {
    const onStop = (signal: NodeJS.Signals): void => {
      void daemon.stop(signal).then(() => {
        unguard();
        resolve(0);
      });
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', () => void daemon.reload());
  });
}
