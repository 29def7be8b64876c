import type { FastifyInstance } from 'fastify';
import { kalemError } from '../../core/errors.js';
import type { AccountStatus, RetentionSettings } from '../../tenancy/model.js';
import type { ApiServices } from '../http-server.js';
import { pageByKey } from '../pagination.js';
import { ACCOUNT_PARAM, ERROR_RESPONSES, page, PAGE_QUERY } from '../schemas.js';
import { accountOf, principalOf, servicesFor } from './context.js';

const RETENTION_INPUT = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    transcriptsDays: { type: 'integer', minimum: 0, nullable: true },
    recordingsDays: { type: 'integer', minimum: 0, nullable: true },
    cdrDays: { type: 'integer', minimum: 0, nullable: true },
  },
} as const;

/** Accounts (writes: operator tokens), retention settings, and who the token is. */
export function registerAccountRoutes(app: FastifyInstance, services: ApiServices): void {
  const tags = ['accounts'];

  app.get(
    '/v1/token',
    {
      config: { access: { auth: 'token' } },
      schema: { tags: ['tokens'], summary: 'The token making this request: its id, name, account and scopes', response: { 200: { $ref: 'TokenInfo#' }, ...ERROR_RESPONSES } },
    },
    async (req) => {
      const p = principalOf(req);
      return { id: p.tokenId, name: p.tokenName, accountId: p.accountId, accountName: p.accountName, scopes: [...p.scopes].sort() };
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/accounts',
    {
      config: { access: { scope: 'accounts:read' } },
      schema: {
        tags,
        summary: 'Accounts by name (an account token sees only its own)',
        querystring: PAGE_QUERY,
        response: { 200: page('Account'), ...ERROR_RESPONSES },
      },
    },
    async (req) => {
      const { provisioning } = servicesFor(services, req);
      const p = principalOf(req);
      const all = p.accountId === null ? provisioning.listAccounts() : [provisioning.account(p.accountId)];
      return pageByKey(all, (a) => a.name, req.query.limit, req.query.cursor);
    },
  );

  app.post<{ Body: { name: string; maxConcurrentCalls?: number | null; status?: AccountStatus; retention?: Partial<RetentionSettings> } }>(
    '/v1/accounts',
    {
      config: { access: { scope: 'accounts:write', operatorOnly: true } },
      schema: {
        tags,
        summary: 'Create an account (with its own key)',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            maxConcurrentCalls: { type: 'integer', minimum: 1, nullable: true },
            status: { type: 'string', enum: ['active', 'disabled'] },
            retention: RETENTION_INPUT,
          },
        },
        response: { 201: { $ref: 'Account#' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => reply.code(201).send(servicesFor(services, req).provisioning.createAccount(req.body)),
  );

  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account',
    {
      config: { access: { scope: 'accounts:read' } },
      schema: { tags, summary: 'One account', params: ACCOUNT_PARAM, response: { 200: { $ref: 'Account#' }, ...ERROR_RESPONSES } },
    },
    async (req) => servicesFor(services, req).provisioning.account(accountOf(req)),
  );

  app.patch<{ Params: { account: string }; Body: { name?: string; status?: AccountStatus; maxConcurrentCalls?: number | null } }>(
    '/v1/accounts/:account',
    {
      config: { access: { scope: 'accounts:write', operatorOnly: true } },
      schema: {
        tags,
        summary: 'Rename, disable/enable, or change the call limit of an account',
        params: ACCOUNT_PARAM,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: { type: 'string' },
            status: { type: 'string', enum: ['active', 'disabled'] },
            maxConcurrentCalls: { type: 'integer', minimum: 1, nullable: true },
          },
        },
        response: { 200: { $ref: 'Account#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => servicesFor(services, req).provisioning.updateAccount(accountOf(req), req.body),
  );

  app.delete<{ Params: { account: string } }>(
    '/v1/accounts/:account',
    {
      config: { access: { scope: 'accounts:write', operatorOnly: true } },
      schema: {
        tags,
        summary: 'Delete an account and everything it owns (its key goes with it: nothing sealed survives)',
        params: ACCOUNT_PARAM,
        response: { 204: { type: 'null', description: 'deleted' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      // The same as `kalem account delete`: vectors first (the erasure removes the rows that say
      // where they are), then every call's content, the account and its key.
      const s = servicesFor(services, req);
      const accountId = s.provisioning.account(accountOf(req)).id;
      await services.dropAccountVectors?.(accountId);
      s.erasure.deleteAccount(accountId);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { account: string } }>(
    '/v1/accounts/:account/retention',
    {
      config: { access: { scope: 'retention:read' } },
      schema: { tags: ['retention'], summary: "The account's retention windows", params: ACCOUNT_PARAM, response: { 200: { $ref: 'Retention#' }, ...ERROR_RESPONSES } },
    },
    async (req) => servicesFor(services, req).provisioning.account(accountOf(req)).retention,
  );

  app.patch<{ Params: { account: string }; Body: Partial<RetentionSettings> }>(
    '/v1/accounts/:account/retention',
    {
      config: { access: { scope: 'retention:write' } },
      schema: {
        tags: ['retention'],
        summary: 'Change retention windows (days; null = keep until deleted); fields left out stay as they are',
        params: ACCOUNT_PARAM,
        body: RETENTION_INPUT,
        response: { 200: { $ref: 'Retention#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => {
      if (Object.keys(req.body).length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'nothing to change');
      return servicesFor(services, req).provisioning.updateAccount(accountOf(req), { retention: req.body }).retention;
    },
  );
}
