import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import type { Metrics } from './metrics.js';
import { healthStatusCode, runHealthChecks, type HealthChecks, type HealthReport } from './health.js';

export type { HealthChecks, HealthResult } from './health.js';

/**
 * The operations HTTP listener: GET /metrics (Prometheus text) and GET /healthz. Plain node:http,
 * no framework: two read-only routes do not need one.
 *
 * It binds to 127.0.0.1 by default and has no authentication of its own. Exposing it beyond
 * loopback needs a reverse proxy in front that terminates TLS and authenticates the scraper
 * (metrics reveal call volumes; health details name internal parts).
 */

export interface ApiServerOptions {
  /** `api.listen_address`; default 127.0.0.1. */
  host?: string;
  /** `api.port`; 0 = any free port. (-1, "disabled", is the daemon's decision: it does not build one.) */
  port: number;
  metrics: Metrics;
  checks?: HealthChecks;
  /** A check slower than this counts as failed (default 2000 ms). */
  checkTimeoutMs?: number;
  /** Whole-request limit, headers included (default 10 000 ms). */
  requestTimeoutMs?: number;
  logger?: Logger;
}

const ALLOW = 'GET, HEAD';
const MAX_CONNECTIONS = 64;

export class ApiServer {
  private readonly server: Server;
  private readonly host: string;
  private readonly port: number;
  private readonly checks: HealthChecks;
  private readonly checkTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ApiServerOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new TypeError(`api port must be 0..65535, got ${opts.port}`);
    }
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port;
    this.checks = opts.checks ?? {};
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 2000;
    const requestTimeout = opts.requestTimeoutMs ?? 10_000;
    this.server = createServer(
      {
        requestTimeout,
        headersTimeout: Math.min(requestTimeout, 5000),
        keepAliveTimeout: 5000,
        // Node checks the two timeouts above only this often (default 30 s).
        connectionsCheckingInterval: Math.min(1000, requestTimeout),
      },
      (req, res) => void this.handle(req, res),
    );
    // A slow or stuck client cannot hold sockets open for long, nor open many of them. The idle
    // backstop is well past the request timeout so that one answers first (with a 408).
    this.server.setTimeout(requestTimeout + 5000, (socket) => socket.destroy());
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /** Binds the listener; rejects with the bind error (EADDRINUSE…) so the daemon can report it. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.host, port: this.port, exclusive: true }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.opts.logger?.error({ err }, 'api server error'));
        resolve();
      });
    });
  }

  /** The bound address and port (the real one when configured with port 0). */
  address(): { address: string; port: number } {
    const a = this.server.address() as AddressInfo | null;
    if (!a) throw new Error('api server is not listening');
    return { address: a.address, port: a.port };
  }

  /** Stops listening and drops open connections. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = pathOf(req.url);
      const route = path === '/metrics' ? 'metrics' : path === '/healthz' ? 'healthz' : undefined;
      if (!route) {
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', ALLOW);
        send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
        return;
      }
      if (route === 'metrics') {
        const { contentType, body } = await this.opts.metrics.render();
        send(res, 200, contentType, body);
      } else {
        const health = await this.health();
        send(res, healthStatusCode(health), 'application/json; charset=utf-8', JSON.stringify(health) + '\n');
      }
    } catch (err) {
      this.opts.logger?.error({ err }, 'api request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  }

  /** Runs every check at once, each bounded by the check timeout (see health.ts). */
  health(): Promise<HealthReport> {
    return runHealthChecks(this.checks, this.checkTimeoutMs);
  }
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
