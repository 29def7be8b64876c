/**
 * Feeds one call's RTP statistics (the endpoint's RFC 3550 receiver stats) into the daemon's
 * metrics: packet counters as deltas since the last report (received, sent, lost), and the
 * interarrival jitter as one observation per report. Reported every REPORT_EVERY_MS while the
 * call is up and once at its end, so a long call shows in /metrics before it ends and the hot
 * path never touches a metric.
 */
import type { Metrics } from '../api/metrics.js';
import type { RtpReceiverStatsJSON } from '../media/rtp/stats.js';

export const REPORT_EVERY_MS = 5000;

type Counts = { received: number; sent: number; lost: number };

export class MediaMetricsFeed {
  private last: Counts = { received: 0, sent: 0, lost: 0 };

  constructor(private readonly metrics: Pick<Metrics, 'rtpPackets' | 'rtpJitter'>) {}

  /** `rtp`: the RFC 3550 receiver stats where the endpoint keeps them (not the echo agent's). */
  report(stats: { readonly received: number; readonly sent: number; readonly rtp?: RtpReceiverStatsJSON | null | unknown }): void {
    const rtp = isReceiverStats(stats.rtp) ? stats.rtp : null;
    // RFC 3550's cumulative lost can go negative (duplicates); a counter only goes up.
    const now: Counts = { received: stats.received, sent: stats.sent, lost: Math.max(0, rtp?.lost ?? 0) };
    // The receiver stats start again when the codec changes (re-INVITE): a smaller value is a
    // new count from zero, not a negative delta.
    const delta = (k: keyof Counts): number => (now[k] >= this.last[k] ? now[k] - this.last[k] : now[k]);
    this.metrics.rtpPackets({ received: delta('received'), sent: delta('sent'), lost: delta('lost') });
    this.last = now;
    if (rtp !== null && rtp.received > 1) this.metrics.rtpJitter(rtp.jitterMs);
  }
}

function isReceiverStats(v: unknown): v is RtpReceiverStatsJSON {
  return typeof v === 'object' && v !== null && typeof (v as RtpReceiverStatsJSON).lost === 'number' && typeof (v as RtpReceiverStatsJSON).jitterMs === 'number';
}
