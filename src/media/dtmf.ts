/**
 * DTMF as RFC 4733 telephone-events: payload parse/encode, a receiver that reports each key
 * press once, and a sender that produces the packet sequence for one key press.
 *
 * Payload (RFC 4733 §2.3): event (8 bits) | E (end) | R | volume (6 bits) | duration (16 bits,
 * in RTP timestamp units). All packets of one event share the RTP timestamp of its start; the
 * first carries the marker bit; the end is sent three times (§2.5.1.4).
 */
import { tsDiff } from './rtp/sequence.js';

/** Event codes 0–15 (§3.2): digits, *, #, A–D; 16 is hook flash. */
export const DTMF_EVENTS = '0123456789*#ABCD';
export const FLASH_EVENT = 16;

/** Spacing of the three redundant end packets. */
const END_SPACING_MS = 20;

export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D' | 'flash';

export interface TelephoneEvent {
  readonly event: number;
  readonly end: boolean;
  /** Power level as a positive number of dBm0 below zero (0–63). */
  readonly volume: number;
  /** Duration so far, in RTP timestamp units. */
  readonly duration: number;
}

/** Parses a telephone-event payload; null when it is shorter than 4 bytes. */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < 4) return null;
  const b1 = payload[1] ?? 0;
  return {
    event: payload[0] ?? 0,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: ((payload[2] ?? 0) << 8) | (payload[3] ?? 0),
  };
}

export function encodeTelephoneEvent(e: TelephoneEvent): Uint8Array {
  if (!Number.isInteger(e.event) || e.event < 0 || e.event > 255) throw new TypeError(`event must be 0..255, got ${e.event}`);
  if (!Number.isInteger(e.volume) || e.volume < 0 || e.volume > 63) throw new TypeError(`volume must be 0..63, got ${e.volume}`);
  if (!Number.isInteger(e.duration) || e.duration < 0 || e.duration > 0xffff)
    throw new TypeError(`duration must be 0..65535, got ${e.duration}`);
  return Uint8Array.of(e.event, (e.end ? 0x80 : 0) | e.volume, e.duration >> 8, e.duration & 0xff);
}

export function eventToDigit(event: number): DtmfDigit | null {
  if (event === FLASH_EVENT) return 'flash';
  const c = DTMF_EVENTS[event];
  return c === undefined ? null : (c as DtmfDigit);
}

export function digitToEvent(digit: string): number {
  if (digit === 'flash') return FLASH_EVENT;
  const i = DTMF_EVENTS.indexOf(digit.toUpperCase());
  if (digit.length !== 1 || i < 0) throw new TypeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return i;
}

/** One key press, reported once, at its first packet. */
export interface DtmfPress {
  readonly digit: DtmfDigit;
  readonly event: number;
  readonly volume: number;
  /** The RTP timestamp identifying the event. */
  readonly timestamp: number;
}

/** What the receiver needs of an RTP packet (an `RtpPacket` fits). */
export interface DtmfInput {
  readonly marker: boolean;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

/**
 * Turns a stream of telephone-event packets into key presses, each reported once.
 *
 * An event is identified by its RTP timestamp, not by the marker bit: some carriers never set
 * the marker, and the marked first packet may be lost. So:
 * - a packet with a new, newer timestamp is a new press (reported at once, even when only its
 *   end packets arrive);
 * - updates and the three redundant end packets share the timestamp and are absorbed;
 * - the same digit pressed again is a new timestamp, so a new press; a marked, not-ended
 *   packet reusing the timestamp of an ended event is also taken as a new press (a sender
 *   that does not advance the timestamp between presses);
 * - a long event split into segments (§2.5.1.5: same event, no marker, timestamp advanced by
 *   the previous segment's duration, previous not ended) continues the press;
 * - packets older than the current event are late and ignored.
 */
export class DtmfReceiver {
  private current: { timestamp: number; event: number; duration: number; ended: boolean } | null = null;
  presses = 0;
  ignored = 0;

  push(packet: DtmfInput): DtmfPress | null {
    const ev = parseTelephoneEvent(packet.payload);
    if (ev === null) {
      this.ignored++;
      return null;
    }
    const cur = this.current;
    if (cur !== null) {
      const d = tsDiff(packet.timestamp, cur.timestamp);
      if (d === 0) {
        const again = cur.ended && packet.marker && !ev.end;
        if (!again) {
          if (ev.duration > cur.duration) cur.duration = ev.duration;
          if (ev.end) cur.ended = true;
          return null;
        }
      } else if (d < 0) {
        this.ignored++;
        return null;
      } else if (!cur.ended && !packet.marker && ev.event === cur.event && d <= cur.duration + 1) {
        // Next segment of a long event: same press.
        this.current = { timestamp: packet.timestamp, event: ev.event, duration: ev.duration, ended: ev.end };
        return null;
      }
    }
    this.current = { timestamp: packet.timestamp, event: ev.event, duration: ev.duration, ended: ev.end };
    const digit = eventToDigit(ev.event);
    if (digit === null) {
      // A telephone event that is not DTMF (tones of RFC 4734): not a key press.
      this.ignored++;
      return null;
    }
    this.presses++;
    return { digit, event: ev.event, volume: ev.volume, timestamp: packet.timestamp };
  }

  reset(): void {
    this.current = null;
  }
}

export interface DtmfSendOptions {
  /** RTP timestamp of the event (the media timestamp at which the press starts). */
  readonly timestamp: number;
  /** Total duration of the press; default 100 ms. */
  readonly durationMs?: number;
  /** Interval between updates; default 50 ms (§2.5.1.2 suggests the audio packet interval or 50 ms). */
  readonly updateIntervalMs?: number;
  /** Volume in -dBm0; default 10. */
  readonly volume?: number;
  /** RTP clock rate of the telephone-event format; default 8000. */
  readonly clockRate?: number;
}

export interface DtmfPacket {
  readonly marker: boolean;
  readonly timestamp: number;
  readonly payload: Uint8Array;
  /** When to send it, relative to the start of the press. */
  readonly offsetMs: number;
}

/**
 * The packets for one key press: a marked start, updates with growing duration, then the end
 * three times, all with the same timestamp. The caller assigns sequence numbers (shared with
 * the audio stream) and sends each packet at its `offsetMs`.
 */
export function dtmfPackets(digit: string, options: DtmfSendOptions): DtmfPacket[] {
  const event = digitToEvent(digit);
  const clockRate = options.clockRate ?? 8000;
  const durationMs = options.durationMs ?? 100;
  const intervalMs = options.updateIntervalMs ?? 50;
  const volume = options.volume ?? 10;
  if (!(durationMs > 0) || !(intervalMs > 0)) throw new TypeError('durationMs and updateIntervalMs must be positive');
  const total = Math.round((durationMs * clockRate) / 1000);
  if (total > 0xffff) throw new TypeError(`durationMs ${durationMs} does not fit one event segment at ${clockRate} Hz`);
  const timestamp = options.timestamp >>> 0;
  const out: DtmfPacket[] = [];
  // Each update reports the duration up to its next update, so the far end never sees the
  // tone "end" between packets; the end goes out when the press is over.
  for (let offsetMs = 0; offsetMs < durationMs; offsetMs += intervalMs) {
    const duration = Math.min(total, Math.round(((offsetMs + intervalMs) * clockRate) / 1000));
    out.push({
      marker: out.length === 0,
      timestamp,
      payload: encodeTelephoneEvent({ event, end: false, volume, duration }),
      offsetMs,
    });
  }
  // The end, three times (§2.5.1.4), one packet interval apart so one loss burst does not take all.
  const endPayload = encodeTelephoneEvent({ event, end: true, volume, duration: total });
  for (let i = 0; i < 3; i++) {
    out.push({ marker: false, timestamp, payload: endPayload, offsetMs: durationMs + i * END_SPACING_MS });
  }
  return out;
}
