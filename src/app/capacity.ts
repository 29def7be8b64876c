import { readFileSync } from 'node:fs';
import type { KalemConfig } from '../config/schema.js';

/**
 * Can this process carry `daemon.max_calls`? Each call holds about four file descriptors (its
 * RTP socket, rtpengine's share of the ng traffic, a stream connection, a log/db share), and one
 * even port of the [media] range. Checked by the daemon at start and explained by `kalem doctor`.
 */
export const FDS_PER_CALL = 4;
export const FD_HEADROOM = 256;

export function requiredFileDescriptors(config: KalemConfig): number {
  return config.daemon.max_calls * FDS_PER_CALL + FD_HEADROOM;
}

/** The soft open-files limit, or undefined when it cannot be read (not Linux). */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const m = line && /^Max open files\s+(\d+|unlimited)\s+/.exec(line);
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // no /proc: cannot tell
  }
  return undefined;
}

/** Even RTP ports in the [media] range: one per call. */
export function rtpPortCapacity(config: KalemConfig): number {
  const min = config.media.port_min + (config.media.port_min % 2);
  return config.media.port_max < min ? 0 : Math.floor((config.media.port_max - min) / 2) + 1;
}

/** Problems that make max_calls impossible, each naming the settings to change. */
export function capacityProblems(config: KalemConfig, limitsFile?: string): string[] {
  const problems: string[] = [];
  const ports = rtpPortCapacity(config);
  if (ports < config.daemon.max_calls) {
    problems.push(
      `media.port_min..port_max (${config.media.port_min}-${config.media.port_max}) holds ${ports} RTP ports, fewer than daemon.max_calls (${config.daemon.max_calls}): widen the range or lower max_calls`,
    );
  }
  const limit = openFileLimit(limitsFile);
  const need = requiredFileDescriptors(config);
  if (limit !== undefined && limit < need) {
    problems.push(`the open-files limit is ${limit}, daemon.max_calls ${config.daemon.max_calls} needs ${need}: raise LimitNOFILE (ulimit -n) or lower max_calls`);
  }
  return problems;
}
