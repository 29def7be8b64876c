import { TypedEmitter } from '../core/typed-emitter.js';

/**
 * The calls this daemon carries right now, counted per account and per trunk for admission
 * control. Counting happens at admission (synchronously, before any await), so two INVITEs
 * arriving together cannot both take the last slot.
 */
export interface CallSlot {
  readonly callId: string;
  readonly accountId: string;
  readonly trunkId: string | null;
}

export class CallRegistry extends TypedEmitter<{ removed: [slot: CallSlot] }> {
  private readonly calls = new Map<string, CallSlot>();
  private readonly perAccount = new Map<string, number>();
  private readonly perTrunk = new Map<string, number>();

  get size(): number {
    return this.calls.size;
  }

  accountCalls(accountId: string): number {
    return this.perAccount.get(accountId) ?? 0;
  }

  trunkCalls(trunkId: string): number {
    return this.perTrunk.get(trunkId) ?? 0;
  }

  add(slot: CallSlot): void {
    if (this.calls.has(slot.callId)) throw new TypeError(`call ${slot.callId} is already registered`);
    this.calls.set(slot.callId, slot);
    bump(this.perAccount, slot.accountId, 1);
    if (slot.trunkId) bump(this.perTrunk, slot.trunkId, 1);
  }

  /** Idempotent. */
  remove(callId: string): void {
    const slot = this.calls.get(callId);
    if (!slot) return;
    this.calls.delete(callId);
    bump(this.perAccount, slot.accountId, -1);
    if (slot.trunkId) bump(this.perTrunk, slot.trunkId, -1);
    this.emit('removed', slot);
  }

  /** Resolves once no call is left (immediately if none is). */
  whenEmpty(): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.calls.size > 0) return;
        this.off('removed', check);
        resolve();
      };
      this.on('removed', check);
    });
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}
