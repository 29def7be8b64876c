import type { FastifyInstance } from 'fastify';
import type { AgentFields } from '../../tenancy/ports.js';
import type { ApiServices } from '../http-server.js';
import { pageByKey } from '../pagination.js';
import { ACCOUNT_PARAM, AGENT_INPUT_PROPERTIES, ERROR_RESPONSES, page, PAGE_QUERY } from '../schemas.js';
import { accountOf, servicesFor } from './context.js';

type PageQuery = { limit: number; cursor?: string };
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const withParam = (name: string, description: string) =>
  ({
    type: 'object',
    required: ['account', name],
    properties: { ...ACCOUNT_PARAM.properties, [name]: { type: 'string', maxLength: 128, description } },
  }) as const;

const SECRET_VALUE = { type: 'string', minLength: 1, maxLength: 16_384, description: 'the secret; stored sealed, never returned' } as const;

/** Agents, numbers, trunks and secrets of one account. */
export function registerProvisioningRoutes(app: FastifyInstance, services: ApiServices): void {
  // ── agents ──
  app.get<{ Params: { account: string }; Querystring: PageQuery }>(
    '/v1/accounts/:account/agents',
    {
      config: { access: { scope: 'agents:read' } },
      schema: { tags: ['agents'], summary: 'Agents by name', params: ACCOUNT_PARAM, querystring: PAGE_QUERY, response: { 200: page('Agent'), ...ERROR_RESPONSES } },
    },
    async (req) => pageByKey(servicesFor(services, req).provisioning.listAgents(accountOf(req)), (a) => a.name, req.query.limit, req.query.cursor),
  );

  app.post<{ Params: { account: string }; Body: Partial<AgentFields> & { name: string } }>(
    '/v1/accounts/:account/agents',
    {
      config: { access: { scope: 'agents:write' } },
      schema: {
        tags: ['agents'],
        summary: 'Create an agent (fields left out take the defaults `kalem agent create` uses)',
        params: ACCOUNT_PARAM,
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: AGENT_INPUT_PROPERTIES },
        response: { 201: { $ref: 'Agent#' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => reply.code(201).send(servicesFor(services, req).provisioning.createAgent(accountOf(req), req.body)),
  );

  const agentParams = withParam('agent', 'agent id or name');
  app.get<{ Params: { account: string; agent: string } }>(
    '/v1/accounts/:account/agents/:agent',
    {
      config: { access: { scope: 'agents:read' } },
      schema: { tags: ['agents'], summary: 'One agent', params: agentParams, response: { 200: { $ref: 'Agent#' }, ...ERROR_RESPONSES } },
    },
    async (req) => servicesFor(services, req).provisioning.agent(accountOf(req), req.params.agent),
  );

  app.patch<{ Params: { account: string; agent: string }; Body: Partial<AgentFields> }>(
    '/v1/accounts/:account/agents/:agent',
    {
      config: { access: { scope: 'agents:write' } },
      schema: {
        tags: ['agents'],
        summary: 'Change an agent; fields left out stay as they are',
        params: agentParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: AGENT_INPUT_PROPERTIES },
        response: { 200: { $ref: 'Agent#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => servicesFor(services, req).provisioning.updateAgent(accountOf(req), req.params.agent, req.body),
  );

  app.delete<{ Params: { account: string; agent: string } }>(
    '/v1/accounts/:account/agents/:agent',
    {
      config: { access: { scope: 'agents:write' } },
      schema: { tags: ['agents'], summary: 'Delete an agent (refused while it answers numbers)', params: agentParams, response: { 204: { type: 'null', description: 'deleted' }, ...ERROR_RESPONSES } },
    },
    async (req, reply) => {
      servicesFor(services, req).provisioning.deleteAgent(accountOf(req), req.params.agent);
      return reply.code(204).send();
    },
  );

  // ── numbers ──
  app.get<{ Params: { account: string }; Querystring: PageQuery }>(
    '/v1/accounts/:account/numbers',
    {
      config: { access: { scope: 'numbers:read' } },
      schema: { tags: ['numbers'], summary: 'Numbers (E.164) in order', params: ACCOUNT_PARAM, querystring: PAGE_QUERY, response: { 200: page('PhoneNumber'), ...ERROR_RESPONSES } },
    },
    async (req) => pageByKey(servicesFor(services, req).provisioning.listNumbers(accountOf(req)), (n) => n.e164, req.query.limit, req.query.cursor),
  );

  app.post<{ Params: { account: string }; Body: { agent: string; numbers: string[]; defaultCountry?: string } }>(
    '/v1/accounts/:account/numbers',
    {
      config: { access: { scope: 'numbers:write' } },
      schema: {
        tags: ['numbers'],
        summary: 'Add one or many numbers to an agent, all or nothing (one bad or taken number adds none)',
        params: ACCOUNT_PARAM,
        body: {
          type: 'object',
          required: ['agent', 'numbers'],
          additionalProperties: false,
          properties: {
            agent: { type: 'string', description: 'agent id or name' },
            numbers: { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'string', maxLength: 64 } },
            defaultCountry: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166 country for numbers written without +' },
          },
        },
        response: { 201: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { $ref: 'PhoneNumber#' } } } }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const added = servicesFor(services, req).provisioning.addNumbers(accountOf(req), req.body.agent, req.body.numbers, req.body.defaultCountry);
      return reply.code(201).send({ items: added });
    },
  );

  app.delete<{ Params: { account: string; number: string } }>(
    '/v1/accounts/:account/numbers/:number',
    {
      config: { access: { scope: 'numbers:write' } },
      schema: {
        tags: ['numbers'],
        summary: 'Remove a number (write + as %2B)',
        params: withParam('number', 'the number, E.164'),
        response: { 204: { type: 'null', description: 'removed' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      servicesFor(services, req).provisioning.removeNumber(accountOf(req), req.params.number);
      return reply.code(204).send();
    },
  );

  // ── trunks ──
  app.get<{ Params: { account: string }; Querystring: PageQuery }>(
    '/v1/accounts/:account/trunks',
    {
      config: { access: { scope: 'trunks:read' } },
      schema: { tags: ['trunks'], summary: 'Trunks by name', params: ACCOUNT_PARAM, querystring: PAGE_QUERY, response: { 200: page('Trunk'), ...ERROR_RESPONSES } },
    },
    async (req) => pageByKey(servicesFor(services, req).provisioning.listTrunks(accountOf(req)), (t) => t.name, req.query.limit, req.query.cursor),
  );

  app.post<{
    Params: { account: string };
    Body: { name: string; cidrs?: string[]; digestUsername?: string; digestPassword?: string; maxConcurrentCalls?: number | null };
  }>(
    '/v1/accounts/:account/trunks',
    {
      config: { access: { scope: 'trunks:write' } },
      schema: {
        tags: ['trunks'],
        summary: 'Add a trunk: source CIDRs and/or digest credentials (the password is sealed, never returned)',
        params: ACCOUNT_PARAM,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            cidrs: { type: 'array', maxItems: 256, items: { type: 'string', maxLength: 64 }, default: [] },
            digestUsername: { type: 'string' },
            digestPassword: { type: 'string', minLength: 1, maxLength: 256 },
            maxConcurrentCalls: { type: 'integer', minimum: 1, nullable: true },
          },
        },
        response: { 201: { $ref: 'Trunk#' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const trunk = servicesFor(services, req).provisioning.addTrunk(accountOf(req), {
        name: b.name,
        cidrs: b.cidrs ?? [],
        digestUsername: b.digestUsername ?? null,
        digestPassword: b.digestPassword === undefined ? null : utf8(b.digestPassword),
        maxConcurrentCalls: b.maxConcurrentCalls ?? null,
      });
      return reply.code(201).send(trunk);
    },
  );

  app.delete<{ Params: { account: string; trunk: string } }>(
    '/v1/accounts/:account/trunks/:trunk',
    {
      config: { access: { scope: 'trunks:write' } },
      schema: { tags: ['trunks'], summary: 'Remove a trunk', params: withParam('trunk', 'trunk id or name'), response: { 204: { type: 'null', description: 'removed' }, ...ERROR_RESPONSES } },
    },
    async (req, reply) => {
      servicesFor(services, req).provisioning.removeTrunk(accountOf(req), req.params.trunk);
      return reply.code(204).send();
    },
  );

  // ── secrets (write-only) ──
  app.get<{ Params: { account: string }; Querystring: PageQuery }>(
    '/v1/accounts/:account/secrets',
    {
      config: { access: { scope: 'secrets:read' } },
      schema: { tags: ['secrets'], summary: 'Secret names and versions (never values)', params: ACCOUNT_PARAM, querystring: PAGE_QUERY, response: { 200: page('SecretInfo'), ...ERROR_RESPONSES } },
    },
    async (req) => pageByKey(servicesFor(services, req).provisioning.listSecrets(accountOf(req)), (s) => s.name, req.query.limit, req.query.cursor),
  );

  app.post<{ Params: { account: string }; Body: { name: string; value: string } }>(
    '/v1/accounts/:account/secrets',
    {
      config: { access: { scope: 'secrets:write' } },
      schema: {
        tags: ['secrets'],
        summary: 'Store a new secret (openai, twilio, stripe, webhook…); an existing one must be rotated',
        params: ACCOUNT_PARAM,
        body: { type: 'object', required: ['name', 'value'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 64 }, value: SECRET_VALUE } },
        response: { 201: { $ref: 'SecretInfo#' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => reply.code(201).send(servicesFor(services, req).provisioning.setSecret(accountOf(req), req.body.name, utf8(req.body.value))),
  );

  const secretParams = withParam('name', 'secret name');
  app.put<{ Params: { account: string; name: string }; Body: { value: string } }>(
    '/v1/accounts/:account/secrets/:name',
    {
      config: { access: { scope: 'secrets:write' } },
      schema: {
        tags: ['secrets'],
        summary: 'Rotate a secret: a new version replaces the old ones, which are erased',
        params: secretParams,
        body: { type: 'object', required: ['value'], additionalProperties: false, properties: { value: SECRET_VALUE } },
        response: { 200: { $ref: 'SecretInfo#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => servicesFor(services, req).provisioning.rotateSecret(accountOf(req), req.params.name, utf8(req.body.value)),
  );

  app.delete<{ Params: { account: string; name: string } }>(
    '/v1/accounts/:account/secrets/:name',
    {
      config: { access: { scope: 'secrets:write' } },
      schema: { tags: ['secrets'], summary: 'Erase a secret, every version', params: secretParams, response: { 204: { type: 'null', description: 'erased' }, ...ERROR_RESPONSES } },
    },
    async (req, reply) => {
      servicesFor(services, req).provisioning.deleteSecret(accountOf(req), req.params.name);
      return reply.code(204).send();
    },
  );
}
