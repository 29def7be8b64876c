/**
 * The request gate's contract, shared by both engines (see app/sip-policy.ts for the policy):
 * a request the gate drops gets no answer at all, not even 100 Trying or a 400, so a scanner
 * or a flooding source learns nothing. Every request reaches the gate, including malformed
 * ones, before anything is sent back.
 */

/** What the gate looks at: the method (null when the request line did not parse) and headers. */
export interface GateRequest {
  readonly method: string | null;
  readonly headers: { get(name: string): string | undefined };
}

/** What the engine knows about a request that the gate cannot see in its headers. */
export interface GateHints {
  /** The request belongs to a dialog (early or confirmed) the engine has (Call-ID and both tags match). */
  readonly inDialog?: boolean;
}

export interface GateSource {
  readonly address: string;
  readonly transport: string;
}

/** Decides, before anything is answered, whether a request is processed or silently dropped. */
export type RequestGate = (request: GateRequest, source: GateSource, hints?: GateHints) => 'pass' | 'drop';
