/**
 * The factory the composition root calls: one rtpengine, managed or external, and an ng client
 * for it.
 *
 * - `managed`: starts Debian's `rtpengine` binary on loopback (see managed-rtpengine.ts) and
 *   resolves once it answers `pong`; the call-level anchor uses its `carrier` and `internal`
 *   logical interfaces.
 * - `external`: the ng address of a running rtpengine (Debian's rtpengine-daemon with
 *   config/rtpengine.conf). Nothing is pinged here; `kalem doctor` checks reachability and an
 *   unreachable rtpengine turns INVITEs into 503s. If that rtpengine defines named interfaces
 *   (`interface = carrier/PUBLIC_IP;internal/127.0.0.1`), pass their names in `interfaces` so the
 *   internal leg lands on loopback.
 */
import type { Logger } from '../../core/logger.js';
import { CARRIER_INTERFACE, INTERNAL_INTERFACE, ManagedRtpengine, type ManagedRtpengineOptions } from './managed-rtpengine.js';
import { NgClient } from './ng-client.js';

export interface RtpengineInterfaces {
  /** Logical interface facing carriers. */
  carrier: string;
  /** Logical interface towards our own RTP endpoint (on 127.0.0.1). */
  internal: string;
}

export interface RtpengineOptions {
  mode: 'managed' | 'external';
  /** external: required; managed: optional fixed ng listener (default a free loopback port). */
  ngAddress?: string;
  /** managed: carrier-facing media address, "IP" or "local!advertised" (default 127.0.0.1). */
  interfaceAddress?: string;
  /** managed: media port range (default 30000–40000, rtpengine's own default). */
  portMin?: number;
  portMax?: number;
  /** managed: the rtpengine executable (default `rtpengine`). */
  binary?: string;
  /** external: named interfaces configured in that rtpengine, if any. */
  interfaces?: RtpengineInterfaces;
  /** Deadline of each ng command (default 3000 ms). */
  commandTimeoutMs?: number;
  /** managed: any further supervisor settings (restart budget, readiness polling…). */
  managed?: Omit<ManagedRtpengineOptions, 'binary' | 'interfaceAddress' | 'ngAddress' | 'portMin' | 'portMax' | 'logger'>;
  logger?: Logger;
}

export interface Rtpengine {
  readonly mode: 'managed' | 'external';
  readonly ngAddress: string;
  readonly client: NgClient;
  /** The supervisor in managed mode (events `ready`, `exited`, `restarted`, `failed`). */
  readonly supervisor: ManagedRtpengine | undefined;
  readonly interfaces: RtpengineInterfaces | undefined;
  /** Closes the client (rejecting pending commands) and stops a managed rtpengine. Idempotent. */
  close(): Promise<void>;
}

export async function openRtpengine(options: RtpengineOptions): Promise<Rtpengine> {
  const clientOptions = options.commandTimeoutMs === undefined ? {} : { timeoutMs: options.commandTimeoutMs };
  if (options.mode === 'external') {
    if (options.ngAddress === undefined) throw new TypeError('external rtpengine needs ngAddress ("host:port" of its listen-ng)');
    const client = new NgClient({ address: options.ngAddress, ...clientOptions });
    return {
      mode: 'external',
      ngAddress: options.ngAddress,
      client,
      supervisor: undefined,
      interfaces: options.interfaces,
      close: async () => client.close(),
    };
  }
  if (options.mode !== 'managed') throw new TypeError(`rtpengine mode must be "managed" or "external", got ${String(options.mode)}`);
  const supervisor = new ManagedRtpengine({
    ...options.managed,
    portMin: options.portMin ?? 30000,
    portMax: options.portMax ?? 40000,
    ...(options.binary === undefined ? {} : { binary: options.binary }),
    ...(options.interfaceAddress === undefined ? {} : { interfaceAddress: options.interfaceAddress }),
    ...(options.ngAddress === undefined ? {} : { ngAddress: options.ngAddress }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  await supervisor.start();
  const client = new NgClient({ address: supervisor.ngAddress, ...clientOptions });
  let closing: Promise<void> | undefined;
  return {
    mode: 'managed',
    ngAddress: supervisor.ngAddress,
    client,
    supervisor,
    interfaces: { carrier: CARRIER_INTERFACE, internal: INTERNAL_INTERFACE },
    close: () => {
      closing ??= (async () => {
        client.close();
        await supervisor.close();
      })();
      return closing;
    },
  };
}
