/**
 * What one call owns, closed together (mediasoup's rule): a closed owner closes every child,
 * including one still being set up (a Realtime socket still connecting), and refuses new ones.
 *
 * The call session adopts each child the moment it is created, not when it is ready: a child
 * created by an `await`ed step would otherwise be stored after the call already ended and
 * outlive it (a CANCEL while the Realtime socket connects left the session open on the
 * tenant's key until OpenAI's session limit).
 */

/** Anything a call can own. `close()` must be idempotent. */
export interface CallChild {
  close(): void | Promise<void>;
}

/** Thrown by `adopt` (and `guard`) once the call is closed: the work it was for must stop. */
export class CallClosedError extends Error {
  override readonly name = 'CallClosedError';
  constructor(what: string) {
    super(`the call is closed: ${what} refused`);
  }
}

export class CallScope {
  private readonly children = new Set<CallChild>();
  private closing: Promise<void> | null = null;

  /** `onError` hears a child whose close() threw or rejected (logged; the cascade goes on). */
  constructor(private readonly onError: (err: unknown) => void) {}

  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Takes ownership of `child` and returns it. On a closed scope the child is closed at once
   * and a CallClosedError is thrown, so the step that made it stops there.
   */
  adopt<T extends CallChild>(child: T, what = 'a new child'): T {
    if (this.closing !== null) {
      void this.closeOne(child);
      throw new CallClosedError(what);
    }
    this.children.add(child);
    return child;
  }

  /** Throws a CallClosedError when the scope is closed (a check before costly work, like unsealing a key). */
  guard(what: string): void {
    if (this.closing !== null) throw new CallClosedError(what);
  }

  /**
   * Closes every child, newest first (a client before the bridge that uses it); idempotent.
   * Resolves once every close has settled; never rejects.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const children = [...this.children].reverse();
      this.children.clear();
      await Promise.all(children.map((c) => this.closeOne(c)));
    })();
    return this.closing;
  }

  private async closeOne(child: CallChild): Promise<void> {
    try {
      await child.close();
    } catch (err) {
      this.onError(err);
    }
  }
}
