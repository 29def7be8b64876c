/**
 * Barge-in arithmetic: how much of the assistant's audio the caller actually heard.
 *
 * When the caller talks over the agent (`input_audio_buffer.speech_started`), the outbound queue
 * is flushed and the assistant item is truncated with `conversation.item.truncate` so the model's
 * memory (and the transcript) matches what was heard. The truncation point counts only frames
 * that left on the wire: never past what was sent (frames still queued were never heard), and
 * never before the item's first frame (an item nothing of which was sent truncates to 0).
 *
 * Pure and synchronous, like the pacer it mirrors: the bridge reports every frame it hands to
 * the pacer (`queued`) and every packet the pacer sends (`sent`, by the packet's tag); on
 * speech_started it asks `truncation()` and then `flush()`es both.
 */

/** One assistant item's frames, in the order they were handed to the pacer. */
interface ItemPlayout {
  readonly itemId: string;
  readonly contentIndex: number;
  /** cumulative[i] = ms of the item's audio in frames 0..i. */
  readonly cumulative: number[];
  sent: number;
  /** Set once the item was truncated; later audio of it is refused. */
  truncatedAtMs: number | null;
}

export interface Truncation {
  readonly itemId: string;
  readonly contentIndex: number;
  /** What goes into `conversation.item.truncate.audio_end_ms`. */
  readonly audioEndMs: number;
  /** Audio of the item that was queued but never played (for the CDR's barge-in stats). */
  readonly unplayedMs: number;
}

/**
 * Milliseconds of audio the caller heard, given each queued frame's duration in order and how
 * many of them were sent: the sum of the first `framesSent` durations, clamped to the frames
 * that exist, floored to whole milliseconds (the API takes an integer, and rounding up would be
 * past what was sent).
 */
export function audioEndMs(frameDurationsMs: readonly number[], framesSent: number): number {
  if (!Number.isInteger(framesSent)) throw new TypeError(`framesSent must be an integer, got ${framesSent}`);
  const n = Math.max(0, Math.min(framesSent, frameDurationsMs.length));
  let total = 0;
  for (let i = 0; i < n; i++) total += frameDurationsMs[i]!;
  return Math.floor(total + 1e-9);
}

export class PlayoutLedger {
  /** Items in the order their first frame was queued (the pacer is FIFO). */
  private readonly items = new Map<string, ItemPlayout>();
  /** Ids of truncated items, kept after pruning so their late audio is still refused. */
  private readonly truncatedIds = new Set<string>();

  constructor(readonly frameMs = 20) {
    if (!(frameMs > 0)) throw new TypeError(`frameMs must be positive, got ${frameMs}`);
  }

  /**
   * Records one frame handed to the pacer carrying `audioMs` of the item's audio (less than a
   * frame for a padded last frame). Returns false — and the caller must drop the frame — when
   * the item was already truncated: audio the model produced after the barge-in.
   */
  queued(itemId: string, contentIndex: number, audioMs: number = this.frameMs): boolean {
    if (!(audioMs > 0 && audioMs <= this.frameMs)) throw new TypeError(`audioMs must be in (0, ${this.frameMs}], got ${audioMs}`);
    if (this.truncatedIds.has(itemId)) return false;
    let item = this.items.get(itemId);
    if (item === undefined) {
      item = { itemId, contentIndex, cumulative: [], sent: 0, truncatedAtMs: null };
      this.items.set(itemId, item);
    }
    if (item.truncatedAtMs !== null) return false;
    const before = item.cumulative.length === 0 ? 0 : item.cumulative[item.cumulative.length - 1]!;
    item.cumulative.push(before + audioMs);
    return true;
  }

  /** Records that the pacer sent the next frame of `itemId` (the packet's tag). */
  sent(itemId: string): void {
    const item = this.items.get(itemId);
    if (item === undefined) throw new TypeError(`frame of unknown item ${itemId} reported as sent`);
    if (item.sent >= item.cumulative.length) throw new TypeError(`more frames of ${itemId} sent than were queued`);
    item.sent++;
  }

  /**
   * The truncation for a barge-in now: the earliest item with frames still unsent is the one
   * playing (FIFO), cut after its last sent frame. Null when everything queued was sent (the
   * caller heard every item in full; nothing to truncate).
   */
  truncation(): Truncation | null {
    for (const item of this.items.values()) {
      if (item.truncatedAtMs !== null || item.sent >= item.cumulative.length) continue;
      const heard = item.sent === 0 ? 0 : item.cumulative[item.sent - 1]!;
      const total = item.cumulative[item.cumulative.length - 1]!;
      return {
        itemId: item.itemId,
        contentIndex: item.contentIndex,
        audioEndMs: Math.floor(heard + 1e-9),
        unplayedMs: total - heard,
      };
    }
    return null;
  }

  /**
   * The pacer dropped every unsent frame: items with unsent frames become truncated at what was
   * sent, and their later frames are refused by `queued`. Returns the truncations, first the
   * one `truncation()` named.
   */
  flush(): Truncation[] {
    const out: Truncation[] = [];
    for (const item of this.items.values()) {
      if (item.truncatedAtMs !== null || item.sent >= item.cumulative.length) continue;
      const heard = item.sent === 0 ? 0 : item.cumulative[item.sent - 1]!;
      const total = item.cumulative[item.cumulative.length - 1]!;
      item.truncatedAtMs = heard;
      item.cumulative.length = item.sent;
      this.truncatedIds.add(item.itemId);
      if (this.truncatedIds.size > 64) this.truncatedIds.delete(this.truncatedIds.values().next().value!);
      out.push({ itemId: item.itemId, contentIndex: item.contentIndex, audioEndMs: Math.floor(heard + 1e-9), unplayedMs: total - heard });
    }
    return out;
  }

  /** True once `itemId` was cut by a barge-in (its later audio is refused). */
  isTruncated(itemId: string): boolean {
    return this.truncatedIds.has(itemId);
  }

  /**
   * Cuts `itemId` at what was sent of it although none of its frames is waiting (the rest of its
   * audio was not converted yet): its later audio is refused like after `flush`.
   */
  truncateAtSent(itemId: string, contentIndex = 0): Truncation {
    const item = this.items.get(itemId);
    const heard = item === undefined || item.sent === 0 ? 0 : item.cumulative[item.sent - 1]!;
    if (item !== undefined) {
      item.truncatedAtMs = heard;
      item.cumulative.length = item.sent;
    }
    this.truncatedIds.add(itemId);
    if (this.truncatedIds.size > 64) this.truncatedIds.delete(this.truncatedIds.values().next().value!);
    return { itemId, contentIndex: item?.contentIndex ?? contentIndex, audioEndMs: Math.floor(heard + 1e-9), unplayedMs: 0 };
  }

  /** Milliseconds of an item's audio sent so far (0 for an unknown item). */
  sentMs(itemId: string): number {
    const item = this.items.get(itemId);
    if (item === undefined || item.sent === 0) return 0;
    return item.cumulative[item.sent - 1]!;
  }

  /** Forgets items every frame of which was sent or dropped, so a long call does not grow. */
  prune(): void {
    for (const [id, item] of this.items) {
      if (item.sent >= item.cumulative.length) this.items.delete(id);
    }
  }

  get size(): number {
    return this.items.size;
  }
}
