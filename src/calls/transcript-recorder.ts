/**
 * The turns of one call as they happen: what the caller said (the model's input transcription),
 * what the agent said (its audio transcript), keys pressed, tools run. Kept in memory for the
 * call only, stored sealed at the end (unless the agent turns storage off), and replayed into
 * a new Realtime session after a reconnect so the conversation carries on.
 *
 * Barge-in: an agent turn is cut to the share of its audio the caller heard, at a word boundary,
 * and marked truncated, whether its transcript arrived before the cut or after it.
 */
import type { TranscriptTurn } from '../tenancy/model.js';

interface AgentTurnState {
  index: number | null;
  /** Fraction of the item's audio heard, once truncated. */
  heard: number | null;
}

export class TranscriptRecorder {
  private readonly turns: Array<{ -readonly [K in keyof TranscriptTurn]: TranscriptTurn[K] }> = [];
  private readonly agentItems = new Map<string, AgentTurnState>();

  constructor(private readonly now: () => number) {}

  caller(text: string): void {
    if (text.trim() !== '') this.turns.push({ role: 'caller', text: text.trim(), at: this.iso() });
  }

  dtmf(digits: string): void {
    this.turns.push({ role: 'dtmf', text: digits, at: this.iso() });
  }

  tool(text: string): void {
    this.turns.push({ role: 'tool', text, at: this.iso() });
  }

  /** The agent's transcript of one item (response.output_audio_transcript.done). */
  agent(itemId: string, text: string): void {
    const state = this.agentItems.get(itemId) ?? { index: null, heard: null };
    this.agentItems.set(itemId, state);
    if (state.index !== null) return;
    state.index = this.turns.length;
    this.turns.push({ role: 'agent', text, at: this.iso() });
    if (state.heard !== null) this.applyCut(state);
  }

  /** Barge-in: the caller heard `heardMs` of the item's `totalMs` of queued audio. */
  cut(itemId: string, heardMs: number, totalMs: number): void {
    const state = this.agentItems.get(itemId) ?? { index: null, heard: null };
    this.agentItems.set(itemId, state);
    state.heard = totalMs <= 0 ? 0 : Math.max(0, Math.min(1, heardMs / totalMs));
    if (state.index !== null) this.applyCut(state);
  }

  /** A copy of the turns so far. */
  list(): TranscriptTurn[] {
    return this.turns.map((t) => ({ ...t }));
  }

  get size(): number {
    return this.turns.length;
  }

  private applyCut(state: AgentTurnState): void {
    const turn = this.turns[state.index!]!;
    const keep = Math.floor(turn.text.length * (state.heard ?? 1));
    let text = turn.text.slice(0, keep);
    // End on a whole word: a half-heard word was not heard.
    if (keep < turn.text.length && !/\s/.test(turn.text[keep] ?? ' ')) text = text.replace(/\S*$/, '');
    turn.text = text.trimEnd();
    turn.truncated = true;
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}
