import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { KalemConfig } from '../config/schema.js';
import { DrachtioEngine, drachtioOptionsFromConfig, type DrachtioRequestGate, type GateRequest } from '../sip/drachtio/drachtio-engine.js';
import { EmbeddedSipEngine, type RequestGate } from '../sip/embedded/embedded-engine.js';
import { SipHeaders, type SipRequest } from '../sip/embedded/message/index.js';
import type { SipEngine } from '../sip/sip-engine.js';
import { buildRequestGate } from './sip-policy.js';

/** The one place that chooses and builds the SIP engine from config. */
export function buildSipEngine(
  config: KalemConfig,
  clock: Clock,
  log: Logger,
  isTrustedSource: (address: string) => boolean,
): SipEngine {
  const sip = config.sip;
  if (sip.engine === 'drachtio') {
    return new DrachtioEngine({
      ...drachtioOptionsFromConfig(sip, log),
      clock,
      gate: drachtioGate(buildRequestGate(config, clock, log, isTrustedSource)),
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
    gate: buildRequestGate(config, clock, log, isTrustedSource),
  });
}

/**
 * One request gate for both engines (issue 10, item 8): the drachtio engine hands its requests'
 * method, Request-URI and header lines, and they are put in the shape the embedded engine's gate
 * reads, so the same policy code (src/app/sip-policy.ts) decides for both.
 */
export function drachtioGate(gate: RequestGate): DrachtioRequestGate {
  return (request, source) => {
    // The local side is drachtio-server's business; the gate decides on the request and its source.
    const received = { address: source.address, port: source.port, transport: source.transport, localAddress: '', localPort: 0 };
    return gate(asSipRequest(request), received);
  };
}

function asSipRequest(request: GateRequest): SipRequest {
  const headers = new SipHeaders();
  for (const [name, value] of request.headers.entries()) headers.append(name, value);
  return { kind: 'request', method: request.method ?? '', uri: request.uri, headers, body: Buffer.alloc(0) };
}
