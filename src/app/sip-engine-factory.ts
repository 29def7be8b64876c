import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { KalemConfig } from '../config/schema.js';
import { DrachtioEngine, drachtioOptionsFromConfig } from '../sip/drachtio/drachtio-engine.js';
import { EmbeddedSipEngine } from '../sip/embedded/embedded-engine.js';
import type { SipEngine } from '../sip/sip-engine.js';
import { buildRequestGate } from './sip-policy.js';

/** The one place that chooses and builds the SIP engine from config. */
export function buildSipEngine(
  config: KalemConfig,
  clock: Clock,
  log: Logger,
  isTrustedSource: (address: string) => boolean,
  isRecentlyAuthenticated: (address: string) => boolean = () => false,
): SipEngine {
  const sip = config.sip;
  if (sip.engine === 'drachtio') {
    return new DrachtioEngine({
      ...drachtioOptionsFromConfig(sip, log),
      clock,
      gate: buildRequestGate(config, clock, log, isTrustedSource, isRecentlyAuthenticated),
    });
  }
  return new EmbeddedSipEngine({
    listenAddress: sip.listen_address,
    publicAddress: sip.public_address,
    udpPort: sip.udp_port,
    tcpPort: sip.tcp_port,
    tlsPort: sip.tls_port,
    tlsCertFile: sip.tls_cert_file,
    tlsKeyFile: sip.tls_key_file,
    maxMessageBytes: sip.max_message_bytes,
    maxHeaders: sip.max_headers,
    maxConnections: sip.max_connections,
    maxConnectionsPerIp: sip.max_connections_per_ip,
    connectionIdleTimeoutMs: sip.connection_idle_timeout_ms,
    t1Ms: sip.t1_ms,
    retryAfterS: sip.retry_after_s,
    sipTrace: config.log.sip_trace,
    clock,
    log,
    gate: buildRequestGate(config, clock, log, isTrustedSource, isRecentlyAuthenticated),
    // A digest-only carrier has no CIDR: once its credentials verified, its connections are a trunk's too.
    isTrustedSource: (address) => isTrustedSource(address) || isRecentlyAuthenticated(address),
  });
}
