import type { FastifyInstance } from 'fastify';
import { PROBLEM_SCHEMA } from './problem.js';

/**
 * The JSON schemas of the API's resources, registered once and referenced by $id from routes.
 * They validate requests, filter responses (fastify serialises only what a response schema
 * declares, so a field added to a domain object later cannot leak through the API by accident),
 * and become the OpenAPI document's components.
 */

const isoTime = { type: 'string', format: 'date-time' } as const;
const nullableInt = { type: 'integer', nullable: true } as const;
const nullableStr = { type: 'string', nullable: true } as const;

const RETENTION = {
  $id: 'Retention',
  type: 'object',
  description: 'Days to keep each kind of data; null = keep until deleted.',
  required: ['transcriptsDays', 'recordingsDays', 'cdrDays'],
  properties: {
    transcriptsDays: { ...nullableInt, minimum: 0 },
    recordingsDays: { ...nullableInt, minimum: 0 },
    cdrDays: { ...nullableInt, minimum: 0 },
  },
} as const;

const ACCOUNT = {
  $id: 'Account',
  type: 'object',
  required: ['id', 'name', 'status', 'maxConcurrentCalls', 'retention', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['active', 'disabled'] },
    maxConcurrentCalls: nullableInt,
    retention: { $ref: 'Retention#' },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

const TURN_DETECTION = {
  $id: 'TurnDetection',
  type: 'object',
  description: 'server_vad: threshold, prefixPaddingMs, silenceDurationMs; semantic_vad: eagerness.',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['server_vad', 'semantic_vad'] },
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    prefixPaddingMs: { type: 'integer', minimum: 0 },
    silenceDurationMs: { type: 'integer', minimum: 0 },
    eagerness: { type: 'string', enum: ['low', 'medium', 'high', 'auto'] },
  },
} as const;

const AGENT_TOOLS = {
  $id: 'AgentTools',
  type: 'object',
  required: ['transferTarget', 'endCall', 'webhooks'],
  additionalProperties: false,
  properties: {
    transferTarget: { ...nullableStr, description: 'sip: or sips: URI the transfer_call tool may REFER to' },
    endCall: { type: 'boolean' },
    webhooks: {
      type: 'array',
      maxItems: 32,
      items: {
        type: 'object',
        required: ['name', 'description', 'parameters', 'url'],
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          description: { type: 'string' },
          parameters: { type: 'object', additionalProperties: true, description: 'JSON schema of the arguments' },
          url: { type: 'string', description: 'https:// URL' },
        },
      },
    },
  },
} as const;

/** The writable fields of an agent (shared by create, update and the resource itself). */
const AGENT_FIELDS = {
  name: { type: 'string' },
  kind: { type: 'string', enum: ['realtime', 'echo'] },
  model: { type: 'string' },
  voice: { type: 'string' },
  instructions: { type: 'string', maxLength: 32_768 },
  audioMode: { type: 'string', enum: ['pcm16', 'g711'] },
  turnDetection: { $ref: 'TurnDetection#' },
  tools: { $ref: 'AgentTools#' },
  firstWords: nullableStr,
  maxCallSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  storeTranscripts: { type: 'boolean' },
  recording: { type: 'boolean', description: 'record both directions of its calls (stereo WAV, encrypted while written)' },
} as const;

const AGENT = {
  $id: 'Agent',
  type: 'object',
  required: ['id', 'accountId', ...Object.keys(AGENT_FIELDS), 'createdAt', 'updatedAt'],
  properties: { id: { type: 'string' }, accountId: { type: 'string' }, ...AGENT_FIELDS, createdAt: isoTime, updatedAt: isoTime },
} as const;

export const AGENT_INPUT_PROPERTIES = AGENT_FIELDS;

const PHONE_NUMBER = {
  $id: 'PhoneNumber',
  type: 'object',
  required: ['e164', 'accountId', 'agentId', 'createdAt'],
  properties: { e164: { type: 'string' }, accountId: { type: 'string' }, agentId: { type: 'string' }, createdAt: isoTime },
} as const;

const TRUNK = {
  $id: 'Trunk',
  type: 'object',
  required: ['id', 'accountId', 'name', 'cidrs', 'digestUsername', 'hasDigestPassword', 'maxConcurrentCalls', 'createdAt'],
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    name: { type: 'string' },
    cidrs: { type: 'array', items: { type: 'string' } },
    digestUsername: nullableStr,
    hasDigestPassword: { type: 'boolean' },
    maxConcurrentCalls: nullableInt,
    createdAt: isoTime,
  },
} as const;

const SECRET_INFO = {
  $id: 'SecretInfo',
  type: 'object',
  description: "A secret's name and version; its value is never returned.",
  required: ['name', 'version', 'createdAt'],
  properties: { name: { type: 'string' }, version: { type: 'integer' }, createdAt: isoTime },
} as const;

const CALL_RECORD = {
  $id: 'CallRecord',
  type: 'object',
  required: ['id', 'accountId', 'agentId', 'trunkId', 'numberE164', 'sipCallId', 'fromUri', 'startedAt', 'answeredAt', 'endedAt', 'endReason', 'hangupBy', 'details', 'hasTranscript', 'hasRecording'],
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    agentId: nullableStr,
    trunkId: nullableStr,
    numberE164: nullableStr,
    sipCallId: { type: 'string' },
    fromUri: nullableStr,
    startedAt: isoTime,
    answeredAt: { ...isoTime, nullable: true },
    endedAt: { ...isoTime, nullable: true },
    endReason: nullableStr,
    hangupBy: { type: 'string', enum: ['caller', 'gateway'], nullable: true },
    details: { type: 'object', additionalProperties: true, description: 'media statistics, counts and timings; never content' },
    hasTranscript: { type: 'boolean' },
    hasRecording: { type: 'boolean' },
  },
} as const;

const TRANSCRIPT = {
  $id: 'Transcript',
  type: 'object',
  required: ['callId', 'turns'],
  properties: {
    callId: { type: 'string' },
    turns: {
      type: 'array',
      items: {
        type: 'object',
        required: ['role', 'text', 'at'],
        properties: {
          role: { type: 'string', enum: ['caller', 'agent', 'dtmf', 'tool'] },
          text: { type: 'string' },
          at: isoTime,
          truncated: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const AUDIT_ENTRY = {
  $id: 'AuditEntry',
  type: 'object',
  required: ['id', 'at', 'actor', 'accountId', 'action', 'target', 'details'],
  properties: {
    id: { type: 'integer' },
    at: isoTime,
    actor: { type: 'string', description: 'cli:<user>, daemon, or api-token:<token id>:<token name>' },
    accountId: nullableStr,
    action: { type: 'string' },
    target: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

const TOKEN_INFO = {
  $id: 'TokenInfo',
  type: 'object',
  required: ['id', 'name', 'accountId', 'accountName', 'scopes'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    accountId: nullableStr,
    accountName: nullableStr,
    scopes: { type: 'array', items: { type: 'string' } },
  },
} as const;

const USAGE_COUNTS = {
  billableSeconds: { type: 'integer', description: 'whole seconds from answer to end, rounded up' },
  modelAudioInMs: { type: 'integer' },
  modelAudioOutMs: { type: 'integer' },
  inputTokens: { type: 'integer' },
  outputTokens: { type: 'integer' },
  inputAudioTokens: { type: 'integer' },
  outputAudioTokens: { type: 'integer' },
  inputTextTokens: { type: 'integer' },
  outputTextTokens: { type: 'integer' },
  cachedTokens: { type: 'integer' },
} as const;

const USAGE_RECORD = {
  $id: 'UsageRecord',
  type: 'object',
  description: 'Usage of one call: no content, no caller; kept through erasure and retention.',
  required: ['callId', 'accountId', 'agentId', 'numberE164', 'startedAt', ...Object.keys(USAGE_COUNTS)],
  properties: { callId: { type: 'string' }, accountId: { type: 'string' }, agentId: nullableStr, numberE164: nullableStr, startedAt: isoTime, ...USAGE_COUNTS },
} as const;

const USAGE_TOTALS = {
  $id: 'UsageTotals',
  type: 'object',
  required: ['accountId', 'account', 'calls', ...Object.keys(USAGE_COUNTS)],
  properties: { accountId: { type: 'string' }, account: nullableStr, calls: { type: 'integer' }, ...USAGE_COUNTS },
} as const;

const USAGE_PERIOD = {
  $id: 'UsagePeriod',
  type: 'object',
  required: ['from', 'to'],
  properties: { from: isoTime, to: isoTime },
} as const;

const ERASURE_COUNTS = {
  calls: { type: 'integer', description: 'calls touched' },
  transcripts: { type: 'integer', description: 'transcripts destroyed (with their data keys)' },
  recordings: { type: 'integer', description: 'recordings destroyed' },
  callerFields: { type: 'integer', description: 'CDRs whose caller hash and sealed caller were removed' },
} as const;

const ERASURE_RESULT = {
  $id: 'ErasureResult',
  type: 'object',
  required: ['accountId', 'account', ...Object.keys(ERASURE_COUNTS), 'walTruncated'],
  properties: {
    accountId: { type: 'string' },
    account: { type: 'string' },
    ...ERASURE_COUNTS,
    callerHash: { type: 'string', description: "the caller's keyed hash in this account (hex), as in the audit row" },
    walTruncated: { type: 'boolean', description: 'false: a reader kept the WAL from being truncated at once (it is at the next checkpoint)' },
  },
} as const;

const CALLER_ERASURE = {
  $id: 'CallerErasure',
  type: 'object',
  required: ['accounts', 'totals', 'walTruncated'],
  properties: {
    accounts: { type: 'array', items: { $ref: 'ErasureResult#' } },
    totals: { type: 'object', required: Object.keys(ERASURE_COUNTS), properties: ERASURE_COUNTS },
    walTruncated: { type: 'boolean' },
  },
} as const;

export function registerSchemas(app: FastifyInstance): void {
  for (const s of [USAGE_RECORD, USAGE_TOTALS, USAGE_PERIOD, ERASURE_RESULT, CALLER_ERASURE, PROBLEM_SCHEMA, RETENTION, ACCOUNT, TURN_DETECTION, AGENT_TOOLS, AGENT, PHONE_NUMBER, TRUNK, SECRET_INFO, CALL_RECORD, TRANSCRIPT, AUDIT_ENTRY, TOKEN_INFO]) {
    app.addSchema(s);
  }
}

/** Error responses every authenticated route can give. */
export const ERROR_RESPONSES = {
  '4xx': { $ref: 'Problem#' },
  '5xx': { $ref: 'Problem#' },
} as const;

/** `{ items: [...], nextCursor }` around a resource schema. */
export function page(ref: string) {
  return {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: { $ref: `${ref}#` } },
      nextCursor: { type: 'string', nullable: true, description: 'pass as ?cursor= for the next page; null on the last page' },
    },
  } as const;
}

export const PAGE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    cursor: { type: 'string', maxLength: 512 },
  },
} as const;

export const ACCOUNT_PARAM = {
  type: 'object',
  required: ['account'],
  properties: { account: { type: 'string', maxLength: 128, description: 'account id or name; "-" = the account of an account token' } },
} as const;
