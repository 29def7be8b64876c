import type { Db } from '../database.js';
import type { Agent, AgentKind, AudioMode } from '../../tenancy/model.js';
import type { AgentFields, AgentRepository } from '../../tenancy/ports.js';

interface AgentRow {
  id: string;
  account_id: string;
  name: string;
  kind: AgentKind;
  model: string;
  voice: string;
  instructions: string;
  audio_mode: AudioMode;
  turn_detection: string;
  tools: string;
  first_words: string | null;
  max_call_seconds: number;
  store_transcripts: number;
  record_calls: number;
  created_at: string;
  updated_at: string;
}

function toAgent(r: AgentRow): Agent {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    kind: r.kind,
    model: r.model,
    voice: r.voice,
    instructions: r.instructions,
    audioMode: r.audio_mode,
    turnDetection: JSON.parse(r.turn_detection) as Agent['turnDetection'],
    tools: JSON.parse(r.tools) as Agent['tools'],
    firstWords: r.first_words,
    maxCallSeconds: r.max_call_seconds,
    storeTranscripts: r.store_transcripts === 1,
    recording: r.record_calls === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function fieldValues(f: AgentFields): unknown[] {
  return [
    f.name,
    f.kind,
    f.model,
    f.voice,
    f.instructions,
    f.audioMode,
    JSON.stringify(f.turnDetection),
    JSON.stringify(f.tools),
    f.firstWords,
    f.maxCallSeconds,
    f.storeTranscripts ? 1 : 0,
    f.recording ? 1 : 0,
  ];
}

export class SqliteAgentRepository implements AgentRepository {
  constructor(private readonly db: Db) {}

  insert(accountId: string, id: string, fields: AgentFields, at: string): void {
    this.db
      .prepare(
        `INSERT INTO agents (name, kind, model, voice, instructions, audio_mode, turn_detection, tools, first_words,
          max_call_seconds, store_transcripts, record_calls, id, account_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...fieldValues(fields), id, accountId, at, at);
  }

  get(accountId: string, agentId: string): Agent | undefined {
    const r = this.db.prepare('SELECT * FROM agents WHERE account_id = ? AND id = ?').get(accountId, agentId) as
      | AgentRow
      | undefined;
    return r && toAgent(r);
  }

  findByName(accountId: string, name: string): Agent | undefined {
    const r = this.db.prepare('SELECT * FROM agents WHERE account_id = ? AND name = ?').get(accountId, name) as
      | AgentRow
      | undefined;
    return r && toAgent(r);
  }

  list(accountId: string): Agent[] {
    return (this.db.prepare('SELECT * FROM agents WHERE account_id = ? ORDER BY name').all(accountId) as AgentRow[]).map(toAgent);
  }

  update(accountId: string, agentId: string, fields: AgentFields, at: string): void {
    this.db
      .prepare(
        `UPDATE agents SET name = ?, kind = ?, model = ?, voice = ?, instructions = ?, audio_mode = ?, turn_detection = ?,
          tools = ?, first_words = ?, max_call_seconds = ?, store_transcripts = ?, record_calls = ?, updated_at = ?
         WHERE account_id = ? AND id = ?`,
      )
      .run(...fieldValues(fields), at, accountId, agentId);
  }

  announcement(accountId: string, agentId: string): Int16Array | undefined {
    const r = this.db.prepare('SELECT pcm24k FROM agent_announcements WHERE account_id = ? AND agent_id = ?').get(accountId, agentId) as { pcm24k: Buffer } | undefined;
    if (!r) return undefined;
    const copy = new Int16Array(r.pcm24k.length / 2);
    new Uint8Array(copy.buffer).set(r.pcm24k);
    return copy;
  }

  setAnnouncement(accountId: string, agentId: string, pcm24k: Int16Array | null): void {
    if (pcm24k === null) {
      this.db.prepare('DELETE FROM agent_announcements WHERE account_id = ? AND agent_id = ?').run(accountId, agentId);
      return;
    }
    this.db
      .prepare('INSERT INTO agent_announcements (account_id, agent_id, pcm24k) VALUES (?, ?, ?) ON CONFLICT(account_id, agent_id) DO UPDATE SET pcm24k = excluded.pcm24k')
      .run(accountId, agentId, Buffer.from(pcm24k.buffer, pcm24k.byteOffset, pcm24k.byteLength));
  }

  delete(accountId: string, agentId: string): void {
    this.db.prepare('DELETE FROM agents WHERE account_id = ? AND id = ?').run(accountId, agentId);
  }
}
