import type { FastifyInstance } from 'fastify';
import type { ApiServices } from '../http-server.js';
import { ACCOUNT_PARAM, ERROR_RESPONSES } from '../schemas.js';
import { accountOf, servicesFor } from './context.js';

const PERIOD_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', maxLength: 40, description: 'a date (2026-11-01) or an ISO 8601 time, inclusive; default: the first of this month (UTC)' },
    to: { type: 'string', maxLength: 40, description: 'exclusive; a date includes that whole day; default: now' },
  },
} as const;

const CALLER_BODY = {
  type: 'object',
  required: ['caller'],
  additionalProperties: false,
  properties: { caller: { type: 'string', minLength: 1, maxLength: 64, description: "the caller's number, as dialled from (E.164 or a SIP user part)" } },
} as const;

/** Erasure (one call, one caller) and usage: the privacy services of the CLI (src/privacy/). */
export function registerPrivacyRoutes(app: FastifyInstance, services: ApiServices): void {
  app.post<{ Params: { account: string; callId: string } }>(
    '/v1/accounts/:account/calls/:callId/erasure',
    {
      config: { access: { scope: 'erasure:write' } },
      schema: {
        tags: ['erasure'],
        summary: "Erase one call's content: its transcript, recording and caller fields (the CDR and usage stay); audited with counts",
        params: {
          type: 'object',
          required: ['account', 'callId'],
          properties: { ...ACCOUNT_PARAM.properties, callId: { type: 'string', maxLength: 64 } },
        },
        response: { 200: { $ref: 'ErasureResult#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => servicesFor(services, req).erasure.deleteCall(accountOf(req), req.params.callId),
  );

  app.post<{ Params: { account: string }; Body: { caller: string } }>(
    '/v1/accounts/:account/erasures',
    {
      config: { access: { scope: 'erasure:write' } },
      schema: {
        tags: ['erasure'],
        summary: 'Erase everything concerning one caller in this account (a GDPR request): transcripts, recordings, caller fields; audited with the keyed hash and counts, never the number',
        params: ACCOUNT_PARAM,
        body: CALLER_BODY,
        response: { 200: { $ref: 'CallerErasure#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => servicesFor(services, req).erasure.eraseCaller(accountOf(req), req.body.caller),
  );

  app.post<{ Body: { caller: string } }>(
    '/v1/erasures',
    {
      config: { access: { scope: 'erasure:write', operatorOnly: true } },
      schema: {
        tags: ['erasure'],
        summary: 'Erase everything concerning one caller in every account (operator tokens)',
        body: CALLER_BODY,
        response: { 200: { $ref: 'CallerErasure#' }, ...ERROR_RESPONSES },
      },
    },
    async (req) => servicesFor(services, req).erasure.eraseCaller(null, req.body.caller),
  );

  app.get<{ Params: { account: string }; Querystring: { from?: string; to?: string } }>(
    '/v1/accounts/:account/usage',
    {
      config: { access: { scope: 'usage:read' } },
      schema: {
        tags: ['usage'],
        summary: "The account's usage per call and in total over a period (no content, no caller)",
        params: ACCOUNT_PARAM,
        querystring: PERIOD_QUERY,
        response: {
          200: {
            type: 'object',
            required: ['accountId', 'account', 'period', 'calls', 'totals'],
            properties: {
              accountId: { type: 'string' },
              account: { type: 'string' },
              period: { $ref: 'UsagePeriod#' },
              calls: { type: 'array', items: { $ref: 'UsageRecord#' } },
              totals: { $ref: 'UsageTotals#' },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (req) => {
      const { usage } = servicesFor(services, req);
      return usage.forAccount(accountOf(req), usage.period(req.query.from, req.query.to));
    },
  );

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/v1/usage',
    {
      config: { access: { scope: 'usage:read', operatorOnly: true } },
      schema: {
        tags: ['usage'],
        summary: 'Usage totals per account over a period, deleted accounts included (operator tokens)',
        querystring: PERIOD_QUERY,
        response: {
          200: {
            type: 'object',
            required: ['period', 'accounts'],
            properties: { period: { $ref: 'UsagePeriod#' }, accounts: { type: 'array', items: { $ref: 'UsageTotals#' } } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (req) => {
      const { usage } = servicesFor(services, req);
      return usage.summary(usage.period(req.query.from, req.query.to));
    },
  );
}
