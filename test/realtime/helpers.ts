/**
 * Shared bits of the Realtime adapter tests (not a test file itself: tap runs *.test.js only).
 */
import type { TypedEmitter } from '../../src/core/typed-emitter.js';
import { DEFAULT_AGENT, type Agent } from '../../src/tenancy/model.js';

/** Resolves with the arguments of the next `event`, or rejects after `timeoutMs`. */
export function next<Ev extends Record<string, any[]>, E extends keyof Ev & string>(
  emitter: TypedEmitter<Ev>,
  event: E,
  timeoutMs = 5000,
  filter: (...args: Ev[E]) => boolean = () => true,
): Promise<Ev[E]> {
  return new Promise((resolve, reject) => {
    const on = (...args: Ev[E]): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`));
    }, timeoutMs);
    emitter.on(event, on);
  });
}

export function agent(over: Partial<Agent> = {}): Agent {
  return {
    id: 'agt_test',
    accountId: 'acc_test',
    name: 'bot',
    ...DEFAULT_AGENT,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

/** PCM16 little-endian bytes of `samples`. */
export function pcmBytes(samples: Int16Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}

export const keyBytes = (key: string): Uint8Array => new TextEncoder().encode(key);
