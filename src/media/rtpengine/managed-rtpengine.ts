/**
 * Managed mode: the daemon runs Debian's `rtpengine` binary as its own child process (dev, tests,
 * a single box), supervises it and never leaves it behind.
 *
 * - Generated command line only (`--config-file=none`, so /etc/rtpengine/rtpengine.conf of a
 *   system rtpengine-daemon is never read): userspace forwarding (`--table=-1`, no kernel module,
 *   no iptables), ng and CLI listeners on loopback ports of its own (two instances on one host
 *   must not share the CLI's default 2224), a pidfile in a state directory, logs on stderr.
 * - Two named logical interfaces: `carrier` (the configured media address, which may be
 *   "local!advertised" behind 1:1 NAT) and `internal` (127.0.0.1), so a call's internal leg is
 *   on loopback whatever the carrier address is. The media anchor selects them with `direction`.
 * - Ready means an ng `ping` answered `pong`; it is polled a bounded number of times.
 * - If rtpengine dies it is restarted with exponential backoff, within a budget of restarts per
 *   time window; past the budget the supervisor gives up and emits `failed`.
 * - `close()` sends SIGTERM, then SIGKILL after a timeout. The child is started through
 *   util-linux `setpriv --pdeathsig KILL` (which execs rtpengine in place, same pid) so the
 *   kernel kills it even if this process is SIGKILLed; a process `exit` hook covers the rest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { freeTcpPort, freeUdpPort } from './free-port.js';
import { NgClient, splitHostPort } from './ng-client.js';

/** Names of the two logical interfaces a managed rtpengine is started with. */
export const CARRIER_INTERFACE = 'carrier';
export const INTERNAL_INTERFACE = 'internal';

export interface ManagedRtpengineOptions {
  /** The rtpengine executable (default `rtpengine` from PATH; Debian installs /usr/bin/rtpengine). */
  binary?: string;
  /** Carrier-facing media address, "IP" or "local!advertised" (default 127.0.0.1). */
  interfaceAddress?: string;
  /** Address of the internal leg towards our own RTP endpoint (default 127.0.0.1). */
  internalAddress?: string;
  /** ng listener "host:port"; default a free UDP port on 127.0.0.1. */
  ngAddress?: string;
  /** CLI listener port on 127.0.0.1; default a free TCP port. */
  cliPort?: number;
  /** Media port range shared by both interfaces (two ports per stream and leg). */
  portMin: number;
  portMax: number;
  /** Where the pidfile goes; default a fresh temporary directory, removed on close. */
  stateDir?: string;
  /** rtpengine worker threads (default 2; its own default is one per core, at least 4). */
  threads?: number;
  /** rtpengine log level 0–7 (default 5, notice); 7 logs SDP bodies. */
  logLevel?: number;
  /** Appended to the generated arguments, e.g. `['--endpoint-learning=heuristic']`. */
  extraArgs?: readonly string[];
  /** Readiness: ng pings before giving up (default 50) … */
  readyAttempts?: number;
  /** … spaced this far apart (default 100 ms); each ping waits at most this long too. */
  readyIntervalMs?: number;
  /** First restart delay, doubled per consecutive failure (default 200 ms) … */
  restartDelayMs?: number;
  /** … up to this (default 5000 ms). */
  maxRestartDelayMs?: number;
  /** At most this many restarts (default 5) … */
  restartBudget?: number;
  /** … within this window (default 60000 ms); beyond it the supervisor emits `failed`. */
  restartWindowMs?: number;
  /** SIGTERM → SIGKILL grace on close (default 3000 ms). */
  stopTimeoutMs?: number;
  /** Start through `setpriv --pdeathsig KILL` when available (default true). */
  parentDeathSignal?: boolean;
  logger?: Logger;
}

export type ManagedRtpengineState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'closed';

export type ManagedRtpengineEvents = {
  /** rtpengine answers pings (after the first start and after every restart). */
  ready: [info: { pid: number; restarts: number }];
  /** The rtpengine process ended without being asked to (not emitted for close()). */
  exited: [info: { pid: number | undefined; code: number | null; signal: NodeJS.Signals | null; log: string }];
  /** A replacement process was spawned; `ready` follows once it answers. */
  restarted: [info: { pid: number | undefined; attempt: number }];
  /** The restart budget is spent; rtpengine stays down until the daemon is restarted. */
  failed: [error: Error];
};

const LOG_TAIL_LINES = 40;
const SETPRIV = '/usr/bin/setpriv';

export class ManagedRtpengine extends TypedEmitter<ManagedRtpengineEvents> {
  private readonly opts: Required<
    Omit<ManagedRtpengineOptions, 'ngAddress' | 'cliPort' | 'stateDir' | 'logger' | 'extraArgs'>
  > & { extraArgs: readonly string[] };
  private readonly logger: Logger | undefined;
  private stateValue: ManagedRtpengineState = 'idle';
  private ngAddressValue: string | undefined;
  private cliPortValue: number | undefined;
  private stateDirValue: string | undefined;
  private ownsStateDir = false;
  private argsValue: string[] = [];
  private pinger: NgClient | undefined;
  private child: ChildProcess | undefined;
  private childExit: Promise<void> = Promise.resolve();
  private logTail: string[] = [];
  private restartTimes: number[] = [];
  private consecutiveFailures = 0;
  private restartCount = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closePromise: Promise<void> | undefined;
  private readonly onProcessExit = (): void => {
    // Last resort when the daemon exits without close(): synchronous, so SIGKILL.
    if (this.child?.pid !== undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  };

  constructor(options: ManagedRtpengineOptions) {
    super();
    const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
      if (!Number.isInteger(v) || v < min || v > max) throw new TypeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
      return v;
    };
    int('portMin', options.portMin, 1024, 65535);
    int('portMax', options.portMax, 1024, 65535);
    if (options.portMax - options.portMin < 3) throw new TypeError(`portMax must exceed portMin by at least 3 (one RTP/RTCP pair per leg), got ${options.portMin}-${options.portMax}`);
    if (options.ngAddress !== undefined) splitHostPort(options.ngAddress);
    this.opts = {
      binary: options.binary ?? 'rtpengine',
      interfaceAddress: options.interfaceAddress ?? '127.0.0.1',
      internalAddress: options.internalAddress ?? '127.0.0.1',
      portMin: options.portMin,
      portMax: options.portMax,
      threads: int('threads', options.threads ?? 2, 1, 256),
      logLevel: int('logLevel', options.logLevel ?? 5, 0, 7),
      extraArgs: options.extraArgs ?? [],
      readyAttempts: int('readyAttempts', options.readyAttempts ?? 50, 1),
      readyIntervalMs: int('readyIntervalMs', options.readyIntervalMs ?? 100, 1),
      restartDelayMs: int('restartDelayMs', options.restartDelayMs ?? 200, 0),
      maxRestartDelayMs: int('maxRestartDelayMs', options.maxRestartDelayMs ?? 5000, 0),
      restartBudget: int('restartBudget', options.restartBudget ?? 5, 0),
      restartWindowMs: int('restartWindowMs', options.restartWindowMs ?? 60_000, 1),
      stopTimeoutMs: int('stopTimeoutMs', options.stopTimeoutMs ?? 3000, 1),
      parentDeathSignal: options.parentDeathSignal ?? true,
    };
    this.ngAddressValue = options.ngAddress;
    this.cliPortValue = options.cliPort;
    this.stateDirValue = options.stateDir;
    this.logger = options.logger;
  }

  get state(): ManagedRtpengineState {
    return this.stateValue;
  }

  /** The ng address clients talk to; stable across restarts. Known once start() has begun. */
  get ngAddress(): string {
    if (this.ngAddressValue === undefined) throw new Error('managed rtpengine: ngAddress is known only after start()');
    return this.ngAddressValue;
  }

  /** The running rtpengine's pid, if any. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get restarts(): number {
    return this.restartCount;
  }

  /** The generated command line (without the setpriv wrapper). */
  get args(): readonly string[] {
    return this.argsValue;
  }

  /** The last lines rtpengine wrote to stderr, for error messages. */
  get recentLog(): string {
    return this.logTail.join('\n');
  }

  /** Spawns rtpengine and resolves once it answers `pong`; on failure nothing is left running. */
  async start(): Promise<void> {
    if (this.stateValue !== 'idle') throw new Error(`managed rtpengine: start() in state ${this.stateValue}`);
    this.stateValue = 'starting';
    try {
      // Ports we pick ourselves are free when probed but can be taken before rtpengine binds
      // them (another process on a busy box): then rtpengine exits with "Address already in
      // use" and we pick again. Configured ports are never changed.
      const choosePorts = { ng: this.ngAddressValue === undefined, cli: this.cliPortValue === undefined };
      if (this.stateDirValue === undefined) {
        this.stateDirValue = mkdtempSync(join(tmpdir(), 'kalem-rtpengine-'));
        this.ownsStateDir = true;
      }
      process.on('exit', this.onProcessExit);
      let child;
      for (let attempt = 1; ; attempt++) {
        if (choosePorts.ng) this.ngAddressValue = `127.0.0.1:${await freeUdpPort()}`;
        if (choosePorts.cli) this.cliPortValue = await freeTcpPort();
        this.argsValue = this.buildArgs();
        this.pinger?.close();
        this.pinger = new NgClient({ address: this.ngAddressValue!, timeoutMs: this.opts.readyIntervalMs, retransmitMs: 0 });
        if (this.closePromise) throw new Error('managed rtpengine: closed during start');
        child = this.launch();
        try {
          await this.waitReady(child);
          break;
        } catch (err) {
          const raced = /Address already in use/.test((err as Error).message) && (choosePorts.ng || choosePorts.cli);
          if (!raced || attempt >= 3) throw err;
          this.logger?.warn({ attempt }, 'rtpengine lost its control port to another process; trying other ports');
        }
      }
      this.stateValue = 'ready';
      this.logger?.info({ pid: child.pid, ngAddress: this.ngAddressValue }, 'rtpengine ready');
      this.emit('ready', { pid: child.pid!, restarts: 0 });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Stops rtpengine (SIGTERM, then SIGKILL) and cancels any restart. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  // -------------------------------------------------------------------------------------------

  private buildArgs(): string[] {
    const o = this.opts;
    return [
      '--config-file=none',
      '--foreground',
      '--log-stderr',
      '--table=-1',
      `--interface=${CARRIER_INTERFACE}/${o.interfaceAddress}`,
      `--interface=${INTERNAL_INTERFACE}/${o.internalAddress}`,
      `--listen-ng=${this.ngAddressValue!}`,
      `--listen-cli=127.0.0.1:${this.cliPortValue!}`,
      `--port-min=${o.portMin}`,
      `--port-max=${o.portMax}`,
      `--pidfile=${join(this.stateDirValue!, 'rtpengine.pid')}`,
      `--num-threads=${o.threads}`,
      `--log-level=${o.logLevel}`,
      // The media anchor deletes every call on hang-up; these are rtpengine's safety nets.
      '--timeout=60',
      '--silent-timeout=3600',
      '--final-timeout=14400',
      '--offer-timeout=60',
      // A deleted call is gone at once, so `list` reflects live calls only.
      '--delete-delay=0',
      ...o.extraArgs,
    ];
  }

  private launch(): ChildProcess {
    const wrap = this.opts.parentDeathSignal && existsSync(SETPRIV);
    // rtpengine speaks sd_notify: with the daemon's NOTIFY_SOCKET it would tell systemd READY=1
    // (and STOPPING=1) on the daemon's behalf. Those variables are the daemon's alone.
    const env = { ...process.env };
    for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete env[name];
    const options = { stdio: ['ignore', 'ignore', 'pipe'] as ['ignore', 'ignore', 'pipe'], env };
    const child = wrap
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', this.opts.binary, ...this.argsValue], options)
      : spawn(this.opts.binary, this.argsValue, options);
    this.child = child;
    this.logTail = [];
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onLogLine(line);
    });
    this.childExit = new Promise<void>((resolve) => {
      let gone = false;
      const onGone = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
        if (gone) return;
        gone = true;
        if (err) this.onLogLine(`spawn ${this.opts.binary} failed: ${err.message}`);
        resolve();
        this.onExit(child, code, signal);
      };
      child.once('exit', (code, signal) => onGone(code, signal));
      // 'error' without 'exit' happens when the binary cannot be spawned at all (ENOENT).
      child.once('error', (err) => {
        if (child.pid === undefined) onGone(null, null, err);
      });
    });
    return child;
  }

  private onLogLine(line: string): void {
    if (line === '') return;
    this.logTail.push(line);
    if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
    if (/\b(ERR|CRIT|ALERT|EMERG|WARNING)\b/.test(line)) this.logger?.warn({ rtpengine: line }, 'rtpengine');
    else this.logger?.debug({ rtpengine: line }, 'rtpengine');
  }

  private isAlive(child: ChildProcess): boolean {
    return this.child === child && child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  }

  /** Polls ng `ping` until `pong`, at most `readyAttempts` times; throws if the child dies. */
  private async waitReady(child: ChildProcess): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.opts.readyAttempts; attempt++) {
      if (this.closePromise) throw new Error('managed rtpengine was closed while starting');
      if (!this.isAlive(child)) {
        throw new Error(`rtpengine exited during start-up (exit ${child.exitCode ?? child.signalCode ?? 'unknown'}); its last words:\n${this.recentLog}`);
      }
      const started = Date.now();
      try {
        await this.pinger!.ping();
        return;
      } catch (err) {
        lastError = err;
      }
      const left = this.opts.readyIntervalMs - (Date.now() - started);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(`rtpengine did not answer ping after ${this.opts.readyAttempts} attempts (${why}); its last words:\n${this.recentLog}`);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    if (this.closePromise) return; // asked to stop: not news
    const info = { pid: child.pid, code, signal, log: this.recentLog };
    this.logger?.warn({ pid: child.pid, code, signal }, 'rtpengine exited');
    this.emit('exited', info);
    if (this.stateValue === 'starting') return; // start() reports it
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.opts.restartWindowMs);
    if (this.restartTimes.length >= this.opts.restartBudget) {
      this.stateValue = 'failed';
      const err = new Error(
        `rtpengine died ${this.restartTimes.length + 1} times within ${this.opts.restartWindowMs} ms; not restarting again. Its last words:\n${this.recentLog}`,
      );
      this.logger?.error({ err }, 'rtpengine restart budget spent');
      this.emit('failed', err);
      return;
    }
    this.stateValue = 'restarting';
    const delay = Math.min(this.opts.maxRestartDelayMs, this.opts.restartDelayMs * 2 ** this.consecutiveFailures);
    this.consecutiveFailures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closePromise) return;
      this.restartTimes.push(Date.now());
      this.restartCount++;
      const child = this.launch();
      this.logger?.info({ pid: child.pid, attempt: this.restartCount }, 'rtpengine restarted');
      this.emit('restarted', { pid: child.pid, attempt: this.restartCount });
      this.waitReady(child).then(
        () => {
          if (!this.isAlive(child) || this.closePromise) return;
          this.consecutiveFailures = 0;
          this.stateValue = 'ready';
          this.emit('ready', { pid: child.pid!, restarts: this.restartCount });
        },
        () => {
          // Died during start-up: onExit already scheduled the next try. Alive but mute: kill it,
          // and onExit schedules the next try.
          if (this.isAlive(child) && !this.closePromise) child.kill('SIGKILL');
        },
      );
    }, delay);
  }

  private async doClose(): Promise<void> {
    const wasState = this.stateValue;
    this.stateValue = 'closed';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.pinger?.close();
    const child = this.child;
    if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.childExit.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.opts.stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.logger?.warn({ pid: child.pid }, 'rtpengine ignored SIGTERM; sending SIGKILL');
        child.kill('SIGKILL');
        await this.childExit;
      }
    }
    process.off('exit', this.onProcessExit);
    if (this.ownsStateDir && this.stateDirValue) rmSync(this.stateDirValue, { recursive: true, force: true });
    if (wasState !== 'idle') this.logger?.info({ ngAddress: this.ngAddressValue }, 'rtpengine stopped');
  }
}
