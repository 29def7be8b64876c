import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ApiServices } from '../http-server.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { ACCOUNT_PARAM, ERROR_RESPONSES, page, PAGE_QUERY } from '../schemas.js';
import { accountOf, principalOf, servicesFor } from './context.js';

interface CallsQuery {
  limit: number;
  cursor?: string;
  since?: string;
  until?: string;
  number?: string;
  outcome?: 'answered' | 'unanswered';
}

const isCallKey = (v: unknown): v is { s: string; i: string } =>
  typeof v === 'object' && v !== null && typeof (v as { s?: unknown }).s === 'string' && typeof (v as { i?: unknown }).i === 'string';
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Calls (CDRs), transcripts (audited reads) and the audit trail. */
export function registerRecordRoutes(app: FastifyInstance, services: ApiServices): void {
  app.get<{ Params: { account: string }; Querystring: CallsQuery }>(
    '/v1/accounts/:account/calls',
    {
      config: { access: { scope: 'calls:read' } },
      schema: {
        tags: ['calls'],
        summary: 'Call records, newest first, filtered by start time, dialled number and outcome',
        params: ACCOUNT_PARAM,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...PAGE_QUERY.properties,
            since: { type: 'string', format: 'date-time', description: 'calls started at or after' },
            until: { type: 'string', format: 'date-time', description: 'calls started before' },
            number: { type: 'string', maxLength: 64, description: 'the dialled number (E.164)' },
            outcome: { type: 'string', enum: ['answered', 'unanswered'] },
          },
        },
        response: { 200: page('CallRecord'), ...ERROR_RESPONSES },
      },
    },
    async (req) => {
      const q = req.query;
      const before = decodeCursor(q.cursor, isCallKey);
      const records = servicesFor(services, req).callRecords.findCalls(accountOf(req), {
        limit: q.limit + 1,
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.until !== undefined ? { until: q.until } : {}),
        ...(q.number !== undefined ? { number: q.number } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(before ? { before: { startedAt: before.s, id: before.i } } : {}),
      });
      const items = records.slice(0, q.limit);
      const last = items[items.length - 1];
      return { items, nextCursor: records.length > q.limit && last ? encodeCursor({ s: last.startedAt, i: last.id }) : null };
    },
  );

  const callParams = {
    type: 'object',
    required: ['account', 'callId'],
    properties: { ...ACCOUNT_PARAM.properties, callId: { type: 'string', maxLength: 64, description: 'call id (call_…)' } },
  } as const;

  app.get<{ Params: { account: string; callId: string } }>(
    '/v1/accounts/:account/calls/:callId',
    {
      config: { access: { scope: 'calls:read' } },
      schema: { tags: ['calls'], summary: 'One call record', params: callParams, response: { 200: { $ref: 'CallRecord#' }, ...ERROR_RESPONSES } },
    },
    async (req) => servicesFor(services, req).callRecords.callRecord(accountOf(req), req.params.callId),
  );

  app.get<{ Params: { account: string; callId: string } }>(
    '/v1/accounts/:account/calls/:callId/transcript',
    {
      config: { access: { scope: 'transcripts:read' } },
      schema: {
        tags: ['calls'],
        summary: "A call's transcript; every read writes an audit row (call.transcript.read) with the token as actor",
        params: callParams,
        response: { 200: { $ref: 'Transcript#' }, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const turns = servicesFor(services, req).callRecords.transcript(accountOf(req), req.params.callId);
      return reply.header('Cache-Control', 'no-store').send({ callId: req.params.callId, turns });
    },
  );

  app.get<{ Params: { account: string; callId: string } }>(
    '/v1/accounts/:account/calls/:callId/recording',
    {
      config: { access: { scope: 'recordings:read' } },
      schema: {
        tags: ['calls'],
        summary:
          "A call's recording as a stereo WAV (caller left, agent right), decrypted as it streams; its RIFF/data sizes are 0xFFFFFFFF (streamed WAV). Every download writes an audit row (call.recording.read)",
        params: callParams,
        response: {
          200: { description: 'audio/wav', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (req, reply) => {
      const r = await servicesFor(services, req).recordings.openStream(accountOf(req), req.params.callId);
      return reply
        .type('audio/wav')
        .header('Cache-Control', 'no-store')
        .header('Content-Disposition', `attachment; filename="${r.callId}.wav"`)
        .header('X-Kalem-Recording-Status', r.status)
        .send(Readable.from(r.chunks));
    },
  );

  const auditHandler = (accountRef: string | undefined, limit: number, cursor: string | undefined, req: Parameters<typeof servicesFor>[1]) => {
    const beforeId = decodeCursor(cursor, isId);
    const entries = servicesFor(services, req).provisioning.auditPage(accountRef, limit + 1, beforeId);
    const items = entries.slice(0, limit);
    return { items, nextCursor: entries.length > limit ? encodeCursor(items[items.length - 1]!.id) : null };
  };

  app.get<{ Params: { account: string }; Querystring: { limit: number; cursor?: string } }>(
    '/v1/accounts/:account/audit',
    {
      config: { access: { scope: 'audit:read' } },
      schema: { tags: ['audit'], summary: "The account's audit trail, newest first", params: ACCOUNT_PARAM, querystring: PAGE_QUERY, response: { 200: page('AuditEntry'), ...ERROR_RESPONSES } },
    },
    async (req) => auditHandler(accountOf(req), req.query.limit, req.query.cursor, req),
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/audit',
    {
      config: { access: { scope: 'audit:read', operatorOnly: true } },
      schema: { tags: ['audit'], summary: 'The whole audit trail, every account and the daemon, newest first (operator tokens)', querystring: PAGE_QUERY, response: { 200: page('AuditEntry'), ...ERROR_RESPONSES } },
    },
    async (req) => {
      principalOf(req);
      return auditHandler(undefined, req.query.limit, req.query.cursor, req);
    },
  );
}
