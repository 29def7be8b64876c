import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifyRateLimit from '@fastify/rate-limit';
import { systemClock, type Clock } from '../core/clock.js';
import { isKalemError, kalemError, KalemError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { CallRecordsService } from '../tenancy/call-records-service.js';
import type { ProvisioningService } from '../tenancy/provisioning-service.js';
import type { ErasureService } from '../privacy/erasure-service.js';
import type { UsageService } from '../privacy/usage-service.js';
import type { RecordingService } from '../privacy/recording-service.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';
import { runHealthChecks, type HealthChecks, type HealthReport } from './health.js';
import type { Metrics } from './metrics.js';
import { problem, problemFromKalemError, PROBLEM_CONTENT_TYPE, type Problem } from './problem.js';
import type { RouteAccess } from './request-context.js';
import { registerSchemas } from './schemas.js';
import { readTlsFiles } from './tls-policy.js';
import type { TokenService } from './tokens/token-service.js';
import { registerRoutes } from './routes/index.js';
import { registerOpsRoutes } from './routes/ops.js';
import { accountOf } from './routes/context.js';

export type { HealthChecks, HealthResult } from './health.js';

/**
 * The daemon's HTTP side on fastify: /healthz and /metrics (operations), and the admin API under
 * /v1 (tokens, scopes, the same services as the CLI). Route schemas validate requests, filter
 * responses, and generate the OpenAPI document (GET /v1/openapi.json).
 *
 * Listeners: HTTPS on `https` (TLS policy in tls-policy.ts, certificate re-read by reloadTls()),
 * and plain HTTP on `host:port`, which must be a loopback address (config validation refuses
 * anything else; this class refuses it again). Both serve the same routes from one fastify
 * instance (its request handler is given to both node servers through `serverFactory`).
 */

/** The services the /v1 routes call. Actor-bound services are made per request (the token is the actor). */
export interface ApiServices {
  tokens: Pick<TokenService, 'authenticate'>;
  provisioning(actor: string): ProvisioningService;
  callRecords(actor: string): CallRecordsService;
  erasure(actor: string): ErasureService;
  recordings(actor: string): RecordingService;
  usage: UsageService;
  /**
   * Removes an account's vectors where they live outside its rows (a vec0 table, a Qdrant
   * collection), before the account is erased. Absent: the account has no knowledge bases.
   */
  dropAccountVectors?: (accountId: string) => Promise<void>;
}

export interface ApiServerOptions {
  /** Plain HTTP listener address (loopback only); default 127.0.0.1. */
  host?: string;
  /** Plain HTTP port; 0 = any free port; undefined = no plain listener (only with `https`). */
  port?: number;
  /** The HTTPS listener (TLS 1.2+; certificate and key re-read on reloadTls()). */
  https?: { host: string; port: number; certFile: string; keyFile: string };
  metrics: Metrics;
  checks?: HealthChecks;
  /** A check slower than this counts as failed (default 2000 ms). */
  checkTimeoutMs?: number;
  /** Whole-request limit, headers included (default 10 000 ms). */
  requestTimeoutMs?: number;
  logger?: Logger;
  /** Without services only /healthz, /metrics and the OpenAPI document are served. */
  services?: ApiServices;
  /** /healthz and /metrics need a token with scope metrics:read. */
  opsRequireToken?: boolean;
  /** Largest request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Requests per minute per token (default 600). */
  rateLimitPerMinute?: number;
  /** Failed authentications per minute per source address before it gets 429 (default 20). */
  authFailuresPerMinute?: number;
  clock?: Clock;
}

const MAX_CONNECTIONS = 64;
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

type NodeServer = HttpServer | HttpsServer;

export class ApiServer {
  private readonly app: FastifyInstance;
  private plainServer: HttpServer | undefined;
  private httpsServer: HttpsServer | undefined;
  private readonly checkTimeoutMs: number;
  private closing: Promise<void> | undefined;
  private listening = false;
  private readonly routeList: Array<{ method: string; url: string }> = [];

  constructor(private readonly opts: ApiServerOptions) {
    if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
      throw new TypeError(`api port must be 0..65535, got ${opts.port}`);
    }
    if (opts.https && (!Number.isInteger(opts.https.port) || opts.https.port < 0 || opts.https.port > 65535)) {
      throw new TypeError(`api https port must be 0..65535, got ${opts.https.port}`);
    }
    if (opts.port === undefined && !opts.https) throw new TypeError('the api server needs a plain (loopback) or an HTTPS listener');
    const host = opts.host ?? '127.0.0.1';
    if (opts.port !== undefined && !isLoopbackHost(host)) {
      throw new TypeError(`plain HTTP listens only on loopback; ${host} needs HTTPS`);
    }
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 2000;
    const clock = opts.clock ?? systemClock;
    const requestTimeout = opts.requestTimeoutMs ?? 10_000;
    const serverOptions = {
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 5000),
      keepAliveTimeout: 5000,
      // Node checks the two timeouts above only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
    };
    const harden = (server: NodeServer): void => {
      // A slow or stuck client cannot hold sockets open for long, nor open many of them. The idle
      // backstop is well past the request timeout so that one answers first (with a 408).
      server.setTimeout(requestTimeout + 5000, (socket) => socket.destroy());
      server.maxConnections = MAX_CONNECTIONS;
    };

    this.app = Fastify({
      serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
        if (opts.https) {
          // A client that never finishes its handshake holds a connection slot: 5 s, not Node's 120 s.
          this.httpsServer = createHttpsServer({ ...serverOptions, handshakeTimeout: 5000, ...readTlsFiles(opts.https.certFile, opts.https.keyFile) }, handler);
          harden(this.httpsServer);
        }
        if (opts.port !== undefined) {
          this.plainServer = createHttpServer(serverOptions, handler);
          harden(this.plainServer);
        }
        return (this.httpsServer ?? this.plainServer)!;
      },
      ...(opts.logger ? { loggerInstance: opts.logger } : {}),
      // Our own one-line debug log per request (onResponse below) instead of fastify's two info lines.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: opts.bodyLimitBytes ?? 1024 * 1024,
      requestIdHeader: false,
      genReqId: () => newId('req'),
      forceCloseConnections: true,
      return503OnClosing: true,
      // Unknown body fields are an error, not silently dropped: a typo must not look like success.
      ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    }) as unknown as FastifyInstance;

    this.app.addHook('onRoute', (route) => {
      if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
      for (const method of [route.method].flat()) if (method !== 'HEAD') this.routeList.push({ method, url: route.url });
    });
    const failures = new AuthFailureLimiter(clock, opts.authFailuresPerMinute ?? 20, 60_000);
    this.app.decorateRequest('principal', undefined);
    this.app.addHook('onRequest', async (req, reply) => this.authenticate(req, reply, failures));
    this.app.setErrorHandler((err: FastifyError, req, reply) => this.sendError(err, req, reply));
    this.app.setNotFoundHandler((req, reply) =>
      this.sendProblem(reply, problem('KALEM_ERR_NOT_FOUND', 404, `no route ${req.method} ${req.url.split('?')[0]}`)),
    );
    this.app.addHook('onResponse', async (req, reply) => {
      req.log.debug(
        { reqId: req.id, method: req.method, route: req.routeOptions.url, status: reply.statusCode, tokenId: req.principal?.tokenId },
        'api request',
      );
    });

    void this.app.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Kalem Gateway admin API',
          version: '1',
          description:
            'Provision and read one gateway: accounts, agents, numbers, trunks, secrets, calls, transcripts, retention and the audit trail. ' +
            'Every request carries `Authorization: Bearer klm_…` (a token from `kalem token create`). Errors are RFC 9457 problem details.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'klm_… API token' } } },
        security: [{ bearer: [] }],
      },
      // Each operation says which token it needs (the test matrix reads it back from here).
      transform: ({ schema, url, route }) => {
        const access = (route.config as { access?: RouteAccess } | undefined)?.access;
        if (!schema || access === undefined) return { schema, url };
        const needs =
          'scope' in access
            ? `Scope: \`${access.scope}\`${access.operatorOnly ? ' (operator token)' : ''}.`
            : access.auth === 'none'
              ? 'No token needed.'
              : 'Any valid token.';
        return { schema: { ...schema, description: needs }, url };
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    void this.app.register(fastifyRateLimit, {
      global: true,
      hook: 'preHandler',
      max: opts.rateLimitPerMinute ?? 600,
      timeWindow: 60_000,
      keyGenerator: (req) => (req.principal ? `token:${req.principal.tokenId}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, ctx) =>
        Object.assign(kalemError('KALEM_ERR_RATE_LIMITED', `over ${ctx.max} requests per minute for this token; retry in ${Math.ceil(ctx.ttl / 1000)} s`), {
          statusCode: 429,
        }),
    });
    void this.app.register(async (scope) => {
      registerSchemas(scope);
      registerOpsRoutes(scope, {
        metrics: opts.metrics,
        health: () => this.health(),
        requireToken: opts.opsRequireToken === true,
      });
      scope.get('/v1/openapi.json', { config: { access: { auth: 'none' } }, schema: { hide: true } }, async () => scope.swagger());
      if (opts.services) registerRoutes(scope, opts.services);
    });
  }

  /** Binds the listeners; rejects with the bind error (EADDRINUSE…) so the daemon can report it. */
  async listen(): Promise<void> {
    const main = this.httpsServer ? this.opts.https! : { host: this.opts.host ?? '127.0.0.1', port: this.opts.port! };
    try {
      await this.app.listen({ host: main.host, port: main.port, listenTextResolver: () => 'api listening' });
      if (this.httpsServer && this.plainServer) await listenOn(this.plainServer, this.opts.host ?? '127.0.0.1', this.opts.port!);
    } catch (err) {
      await this.app.close().catch(() => undefined);
      throw err;
    }
    this.listening = true;
  }

  /** The plain listener's address (or the HTTPS one when there is no plain listener). */
  address(): { address: string; port: number } {
    return addressOf(this.plainServer ?? this.httpsServer);
  }

  /** The HTTPS listener's address, when there is one. */
  httpsAddress(): { address: string; port: number } | undefined {
    return this.httpsServer && addressOf(this.httpsServer);
  }

  /** Re-reads the certificate and key: new connections get them, open ones keep theirs. */
  reloadTls(): void {
    if (!this.httpsServer || !this.opts.https) return;
    this.httpsServer.setSecureContext(readTlsFiles(this.opts.https.certFile, this.opts.https.keyFile));
  }

  /** The OpenAPI document the server serves (for docs/openapi.json). */
  async openapi(): Promise<unknown> {
    await this.app.ready();
    return this.app.swagger();
  }

  /** The routes registered (without HEAD twins and hidden ones), for checking the document. */
  routes(): ReadonlyArray<{ method: string; url: string }> {
    return this.routeList;
  }

  /** Stops listening and drops open connections. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const plain = this.httpsServer && this.plainServer?.listening ? this.plainServer : undefined;
      if (plain) {
        const closed = new Promise<void>((resolve) => plain.close(() => resolve()));
        plain.closeAllConnections();
        await closed;
      }
      await this.app.close();
      this.listening = false;
    })();
    return this.closing;
  }

  /** Runs every health check (see health.ts). */
  health(): Promise<HealthReport> {
    return runHealthChecks(this.opts.checks ?? {}, this.checkTimeoutMs);
  }

  get isListening(): boolean {
    return this.listening;
  }

  private async authenticate(req: FastifyRequest, reply: FastifyReply, failures: AuthFailureLimiter): Promise<void> {
    const access = req.routeOptions.config.access;
    if (access === undefined || ('auth' in access && access.auth === 'none')) return;
    const source = req.ip;
    const wait = failures.blockedFor(source);
    if (wait > 0) {
      reply.header('Retry-After', String(Math.ceil(wait / 1000)));
      throw kalemError('KALEM_ERR_RATE_LIMITED', `too many failed authentications from this address; retry in ${Math.ceil(wait / 1000)} s`);
    }
    const fail = (reason: string, message: string): never => {
      failures.failed(source);
      this.opts.metrics.apiAuthFailure(reason);
      req.log.info({ reqId: req.id, source, reason }, 'api authentication failed');
      reply.header('WWW-Authenticate', 'Bearer realm="kalem"');
      throw kalemError('KALEM_ERR_UNAUTHENTICATED', message);
    };
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (!m) return fail('missing', 'an API token is required: Authorization: Bearer klm_…');
    const services = this.opts.services;
    const result = services ? services.tokens.authenticate(m[1]!) : 'unknown';
    if (typeof result === 'string') {
      const why = { malformed: 'is not a Kalem API token', unknown: 'is not known', expired: 'has expired', revoked: 'has been revoked' }[result];
      return fail(result, `the API token ${why}`);
    }
    req.principal = result;
    if ('scope' in access) {
      if (access.operatorOnly && result.accountId !== null) throw kalemError('KALEM_ERR_FORBIDDEN', 'this needs an operator token');
      if (!result.scopes.has(access.scope)) throw kalemError('KALEM_ERR_FORBIDDEN', `this token lacks the scope ${access.scope}`);
    }
    // Another tenant's account is "not found" before anything else about the request (its body
    // included) is looked at.
    if (typeof (req.params as { account?: unknown } | undefined)?.account === 'string') accountOf(req);
  }

  private sendError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if (err instanceof KalemError || isKalemError(err)) return this.sendProblem(reply, problemFromKalemError(err));
    if (err.validation) {
      return this.sendProblem(reply, problem('KALEM_ERR_INVALID_ARGUMENT', 400, err.message));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return this.sendProblem(reply, problem('KALEM_ERR_BODY_TOO_LARGE', 413, `the request body is over ${this.opts.bodyLimitBytes ?? 1024 * 1024} bytes`));
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Framework refusals (malformed JSON, unsupported media type…): their messages name the
      // problem, never the body's content.
      return this.sendProblem(reply, problem('KALEM_ERR_INVALID_ARGUMENT', status, err.message));
    }
    req.log.error({ reqId: req.id, err: err.message, stack: err.stack, route: req.routeOptions.url }, 'api request failed');
    return this.sendProblem(reply, problem('KALEM_ERR_INTERNAL', 500, kalemError('KALEM_ERR_INTERNAL', req.id).message));
  }

  private sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
    return reply.code(p.status).header('Cache-Control', 'no-store').type(PROBLEM_CONTENT_TYPE).send(p);
  }
}

function addressOf(server: NodeServer | undefined): { address: string; port: number } {
  const a = server?.address() as AddressInfo | null | undefined;
  if (!a) throw new Error('api server is not listening');
  return { address: a.address, port: a.port };
}

function listenOn(server: HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
