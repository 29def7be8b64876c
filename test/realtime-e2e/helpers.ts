// A gateway daemon whose realtime agents talk to the OpenAI Realtime STAND-IN
// (test/stand-ins/openai-realtime.ts), not the real API, behind the real managed rtpengine.
import Database from 'better-sqlite3';
import type { EngineUnderTest } from '../helpers/gateway.js';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestGateway } from '../helpers/gateway.js';
import type { BridgeSummary } from '../../src/calls/realtime-bridge.js';
import { mediaGateway } from '../media-e2e/helpers.js';
import { OpenAIRealtimeStandIn, type StandInOptions } from '../stand-ins/openai-realtime.js';

export const AGENT_NUMBER = '+14155550200';
export const TRANSFER_TARGET = 'sip:+14155550777@127.0.0.1';

export interface RealtimeGateway {
  gw: TestGateway;
  standIn: OpenAIRealtimeStandIn;
  /** The OpenAI key planted in the account: it must appear in no log line. */
  plantedKey: string;
}

export async function realtimeGateway(
  options: { agent?: Record<string, unknown>; standIn?: Partial<StandInOptions>; rest?: string; sip?: string; engine?: EngineUnderTest } = {},
): Promise<RealtimeGateway> {
  const plantedKey = `sk-proj-PLANTED${randomBytes(12).toString('hex')}`;
  const standIn = await OpenAIRealtimeStandIn.start({ apiKey: plantedKey, ...options.standIn });
  const { gw } = await mediaGateway({
    ...(options.sip ? { sip: options.sip } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
    rest: `[realtime]\nbase_url = "ws://127.0.0.1:${standIn.port}/v1/realtime"\nconnect_timeout_ms = 3000\nreconnect_budget_ms = 4000\nwebhook_filler_after_ms = 300\n${options.rest ?? ''}`,
  });
  // mediaGateway provisioned account acme (echo agents); add a realtime agent and its key.
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAgent('acme', {
      name: 'assistant',
      kind: 'realtime',
      instructions: 'You answer the phone for ACME.',
      firstWords: 'Hello, ACME here.',
      tools: { endCall: true, transferTarget: TRANSFER_TARGET, webhooks: [] },
      ...(options.agent ?? {}),
    });
    p.addNumbers('acme', 'assistant', [AGENT_NUMBER]);
    p.setSecret('acme', 'openai', Buffer.from(plantedKey));
  });
  return { gw, standIn, plantedKey };
}

export interface RealtimeCdr {
  end_reason: string;
  hangup_by: string;
  answered_at: string | null;
  id: string;
  details: {
    media?: { received: number; sent: number; codec: string | null; dtmfReceived?: number };
    realtime?: BridgeSummary;
  };
}

export function realtimeCdrs(gw: TestGateway): RealtimeCdr[] {
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT id, end_reason, hangup_by, answered_at, details FROM calls ORDER BY started_at').all() as Array<
      Omit<RealtimeCdr, 'details'> & { details: string }
    >;
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as RealtimeCdr['details'] }));
  } finally {
    db.close();
  }
}
