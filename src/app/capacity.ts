import { readFileSync } from 'node:fs';
import type { KalemConfig } from '../config/schema.js';
export { rtpPortCapacity } from '../config/cross-checks.js';

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

/**
 * Problems of this machine that make max_calls impossible, each naming the settings to change.
 * (The RTP port range against max_calls is a property of the config file: config/cross-checks.ts.)
 */
export function capacityProblems(config: KalemConfig, limitsFile?: string): string[] {
  const problems: string[] = [];
  const limit = openFileLimit(limitsFile);
  const need = requiredFileDescriptors(config);
  if (limit !== undefined && limit < need) {
    problems.push(`the open-files limit is ${limit}, daemon.max_calls ${config.daemon.max_calls} needs ${need}: raise LimitNOFILE (ulimit -n) or lower max_calls`);
  }
  return problems;
}
