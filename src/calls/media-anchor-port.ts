/**
 * What a call needs from the media anchor (rtpengine, src/media/rtpengine/media-anchor.ts
 * implements it), seen as a port so `calls` does not import an adapter:
 *
 *   carrier offer ──offer()──▶ plain RTP/AVP SDP on loopback for our own endpoint
 *   our answer    ──answer()─▶ SDP for the carrier's 200 OK
 *   hang-up       ──delete()─▶ idempotent
 *
 * Errors thrown by these methods carry `retryable: true` when asking again later may help
 * (rtpengine down, restarting or overloaded): the call is then refused with 503 + Retry-After.
 */
export interface MediaAnchorPort {
  offer(input: {
    callId: string;
    fromTag: string;
    sdp: string;
    viaBranch?: string;
    carrierSource?: string;
  }): Promise<{ sdp: string; transcoding: boolean; warning?: string }>;
  answer(input: { callId: string; fromTag: string; toTag: string; sdp: string }): Promise<{ sdp: string; warning?: string }>;
  delete(input: { callId: string; fromTag?: string }): Promise<void>;
}

/** True when an anchor error says "try again later" (timeouts, the control socket failing). */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** True when rtpengine answered, but refused (bad SDP, unknown call…). */
export function isRejected(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { reason?: unknown }).reason === 'rejected';
}
