import { EventEmitter } from 'node:events';

/**
 * EventEmitter with a compile-time event map, so events are never untyped strings:
 *   class Call extends TypedEmitter<{ ended: [reason: string] }> {}
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class TypedEmitter<Events extends Record<string, any[]>> {
  private readonly emitter = new EventEmitter();

  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<E extends keyof Events & string>(event: E, ...args: Events[E]): boolean {
    return this.emitter.emit(event, ...args);
  }

  listenerCount<E extends keyof Events & string>(event: E): number {
    return this.emitter.listenerCount(event);
  }
}
