/**
 * Sections → chunks for embedding, with a token budget counted by cl100k_base (the tokenizer of
 * OpenAI's text-embedding-3 models, from gpt-tokenizer).
 *
 * Structure first: a chunk never crosses a section (heading) boundary; inside a section whole
 * paragraphs are packed together; a paragraph over the budget is cut at sentence ends
 * (Intl.Segmenter); a sentence over the budget is cut at token boundaries. Each chunk starts with
 * its heading path, so "Opening hours" travels with the hours it heads. A new chunk in the same
 * section repeats the previous chunk's last sentences, up to `overlapTokens`, so an answer that
 * straddles the cut is whole in one of them.
 *
 * Pure and synchronous: no I/O.
 */
import { countTokens as count, decode, encode } from 'gpt-tokenizer/encoding/cl100k_base';
import type { Section } from './extract.js';

export interface ChunkOptions {
  readonly maxTokens: number;
  readonly overlapTokens: number;
}

export interface Chunk {
  readonly seq: number;
  readonly text: string;
  readonly tokens: number;
}

/** Text in documents is data: "<|endoftext|>" in a file is just characters. */
const PLAIN = { disallowedSpecial: new Set<string>() };

export function countTokens(text: string): number {
  return count(text, PLAIN);
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

function sentences(text: string): string[] {
  return [...sentenceSegmenter.segment(text)].map((s) => s.segment.trim()).filter((s) => s !== '');
}

/** A piece of a section's text, with whether a paragraph break comes before it. */
interface Unit {
  readonly text: string;
  readonly tokens: number;
  readonly newParagraph: boolean;
}

/** Cuts a sentence longer than the budget at token boundaries. */
function hardSplit(text: string, budget: number): string[] {
  const ids = encode(text, PLAIN);
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += budget) out.push(decode(ids.slice(i, i + budget)).trim());
  return out.filter((s) => s !== '');
}

function unitsOf(paragraphs: readonly string[], budget: number): Unit[] {
  const units: Unit[] = [];
  for (const p of paragraphs) {
    const tokens = countTokens(p);
    if (tokens <= budget) {
      units.push({ text: p, tokens, newParagraph: true });
      continue;
    }
    let first = true;
    for (const s of sentences(p)) {
      const pieces = countTokens(s) <= budget ? [s] : hardSplit(s, budget);
      for (const piece of pieces) {
        units.push({ text: piece, tokens: countTokens(piece), newParagraph: first });
        first = false;
      }
    }
  }
  return units;
}

function join(units: readonly Unit[]): string {
  return units.map((u, i) => (i === 0 ? u.text : `${u.newParagraph ? '\n\n' : ' '}${u.text}`)).join('');
}

/** The trailing sentences of a chunk's units that fit in `overlap` tokens. */
function overlapOf(units: readonly Unit[], overlap: number): Unit[] {
  if (overlap <= 0 || units.length === 0) return [];
  const last = units[units.length - 1]!;
  const ss = sentences(last.text);
  const out: Unit[] = [];
  let used = 0;
  for (let i = ss.length - 1; i >= 0; i--) {
    const tokens = countTokens(ss[i]!);
    if (used + tokens > overlap) break;
    used += tokens;
    out.unshift({ text: ss[i]!, tokens, newParagraph: i === 0 });
  }
  // The whole last unit fits: it is the overlap (keeps its paragraph mark).
  return out.length === ss.length ? [last] : out;
}

export function chunkSections(sections: readonly Section[], opts: ChunkOptions): Chunk[] {
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 16) throw new TypeError('maxTokens must be an integer of at least 16');
  if (!Number.isInteger(opts.overlapTokens) || opts.overlapTokens < 0 || opts.overlapTokens >= opts.maxTokens) {
    throw new TypeError('overlapTokens must be an integer from 0 to below maxTokens');
  }
  const chunks: Chunk[] = [];
  const emit = (prefix: string, units: readonly Unit[]): void => {
    const text = prefix + join(units);
    chunks.push({ seq: chunks.length, text, tokens: countTokens(text) });
  };
  for (const section of sections) {
    const prefix = section.headings.length > 0 ? `${section.headings.join(' > ')}\n\n` : '';
    // Headings that eat most of the budget (a pathological document) still leave room for text.
    const budget = Math.max(16, opts.maxTokens - countTokens(prefix));
    let current: Unit[] = [];
    let used = 0;
    let fresh = 0; // units in `current` not carried over from the previous chunk
    for (const unit of unitsOf(section.paragraphs, budget)) {
      const sep = current.length === 0 ? 0 : 1;
      if (used + sep + unit.tokens > budget && fresh > 0) {
        emit(prefix, current);
        const carry = overlapOf(current, Math.min(opts.overlapTokens, budget - unit.tokens - 1));
        current = [...carry];
        used = carry.reduce((n, u) => n + u.tokens + 1, 0);
        fresh = 0;
      }
      current.push(unit);
      used += unit.tokens + (current.length > 1 ? 1 : 0);
      fresh++;
    }
    if (fresh > 0) emit(prefix, current);
  }
  return chunks;
}
