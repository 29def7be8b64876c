import type { FastifyInstance } from 'fastify';
import { healthStatusCode, type HealthReport } from '../health.js';
import type { Metrics } from '../metrics.js';
import type { RouteAccess } from '../request-context.js';

const OTHER_METHODS = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** /metrics (Prometheus text) and /healthz (JSON, 503 when a check fails). */
export function registerOpsRoutes(
  app: FastifyInstance,
  opts: { metrics: Metrics; health: () => Promise<HealthReport>; requireToken: boolean },
): void {
  app.addSchema({
    $id: 'Health',
    type: 'object',
    required: ['status', 'failing', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ok', 'fail'] },
      failing: { type: 'array', items: { type: 'string' } },
      checks: {
        type: 'object',
        additionalProperties: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } },
      },
    },
  });
  const access: RouteAccess = opts.requireToken ? { scope: 'metrics:read', operatorOnly: true } : { auth: 'none' };
  const security = opts.requireToken ? {} : { security: [] };
  app.get(
    '/metrics',
    {
      config: { access, rateLimit: false },
      schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition 0.0.4)', ...security, response: { 200: { type: 'string' } } },
    },
    async (_req, reply) => {
      const { contentType, body } = await opts.metrics.render();
      return reply.header('Cache-Control', 'no-store').type(contentType).send(body);
    },
  );
  app.get(
    '/healthz',
    {
      config: { access, rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Health of the SIP listeners, database, rtpengine and drain state; 503 when any check fails',
        ...security,
        response: {
          '2xx': { $ref: 'Health#' },
          503: { $ref: 'Health#' },
        },
      },
    },
    async (_req, reply) => {
      const health = await opts.health();
      return reply.code(healthStatusCode(health)).header('Cache-Control', 'no-store').send(health);
    },
  );
  // The two paths exist for every method; anything but GET/HEAD is 405 with Allow, not 404.
  for (const url of ['/metrics', '/healthz']) {
    app.route({
      method: [...OTHER_METHODS],
      url,
      config: { access: { auth: 'none' }, rateLimit: false },
      schema: { hide: true },
      handler: async (_req, reply) =>
        reply
          .code(405)
          .header('Allow', 'GET, HEAD')
          .type('application/problem+json; charset=utf-8')
          .send({ type: 'urn:kalem:error:KALEM_ERR_NOT_FOUND', title: 'Method Not Allowed', status: 405, detail: `${url} answers GET and HEAD`, code: 'KALEM_ERR_NOT_FOUND' }),
    });
  }
}
