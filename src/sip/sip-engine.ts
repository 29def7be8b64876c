import type { TypedEmitter } from '../core/typed-emitter.js';

/**
 * The SipEngine port: everything the call controller needs from SIP signalling, and nothing of
 * how it is done. Two engines implement it: `sip/embedded/` (RFC 3261 UAS core in TypeScript)
 * and `sip/drachtio/` (drachtio-srf driving a drachtio-server). The controller never sees SIP
 * messages, transactions or sockets; it sees calls.
 *
 * Responsibilities that stay inside an engine: 100 Trying, retransmissions and timers, CANCEL →
 * 487, OPTIONS keep-alives (answered 200, or 503 while not accepting calls), unknown methods
 * (405/501), Max-Forwards 0 → 483, malformed requests → 400, scanner drops and the per-source
 * request-rate limit (they must act before anything is sent back).
 */

export type SipTransport = 'udp' | 'tcp' | 'tls';

export interface SipSource {
  readonly address: string;
  readonly port: number;
  readonly transport: SipTransport;
}

/** Digest credentials from an Authorization / Proxy-Authorization header, already parsed. */
export interface DigestResponse {
  readonly header: 'authorization' | 'proxy-authorization';
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: string | null;
  readonly qop: string | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
  readonly opaque: string | null;
}

export interface IncomingCallInfo {
  /** SIP Call-ID of the dialog. */
  readonly callId: string;
  readonly requestUri: string;
  /** User part of the Request-URI, else of the To URI (the dialled number, not yet normalised). */
  readonly calledUser: string | null;
  readonly fromUri: string;
  readonly fromUser: string | null;
  readonly fromDisplayName: string | null;
  readonly toUri: string;
  readonly userAgent: string | null;
  readonly source: SipSource;
  /** Our address the INVITE arrived on (for SDP when listening on a wildcard address). */
  readonly localAddress: string;
  /** The caller's SDP offer, or null for a late-offer INVITE. */
  readonly sdp: string | null;
  readonly digest: DigestResponse | null;
  /** Any other header, first value, case-insensitive name. */
  header(name: string): string | undefined;
}

export interface RejectOptions {
  readonly reason?: string;
  /**
   * Extra headers, e.g. `Retry-After` or `WWW-Authenticate`. Names as they should be written; an
   * array value becomes one header line per element (two digest challenges, SHA-256 and MD5).
   */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
}

/** Why a call ended, from the signalling point of view. */
export type CallEndReason =
  | 'remote-bye'
  | 'local-bye'
  | 'cancelled'
  | 'rejected'
  | 'no-ack'
  | 'transport-error'
  | 'engine-stopped';

export interface ReferProgress {
  /** Final status of the transfer as reported by NOTIFY sipfrag (or the REFER's own failure). */
  readonly status: number;
  readonly reason: string;
}

export type ReinviteHandler = (offerSdp: string | null) => string | null | Promise<string | null>;

export type IncomingCallEvents = {
  /** The caller cancelled before answer (the engine has already sent 487). */
  cancel: [];
  /** The ACK for our 2xx arrived: the dialog is confirmed. */
  confirmed: [];
  /** The call is over, whatever the cause. Emitted exactly once. */
  ended: [reason: CallEndReason];
  /** An INFO in the dialog (e.g. application/dtmf-relay). */
  info: [contentType: string | null, body: string];
};

/**
 * One incoming call. Methods are valid in the states their comments name; calling one in the
 * wrong state throws an InvalidStateError-style TypeError from the engine.
 */
export interface IncomingCall extends TypedEmitter<IncomingCallEvents> {
  readonly info: IncomingCallInfo;
  /** Sends 180 Ringing or 183 Session Progress (with early-media SDP). Before answer only. */
  progress(status: 180 | 183, sdp?: string): void;
  /** Sends 200 OK with our SDP; retransmitted until ACK. Resolves once sent. */
  answer(sdp: string): Promise<void>;
  /** Final non-2xx answer. Before answer only. */
  reject(status: number, options?: RejectOptions): void;
  /** Ends an answered call with BYE (resolves when the BYE transaction completes or times out). */
  hangup(): Promise<void>;
  /**
   * Answers re-INVITEs (hold/unhold, session refresh): given the new offer, return (or resolve
   * with) our SDP for the 200 OK, or null to refuse with 488. It may be async (media updated
   * through rtpengine first); meanwhile the engine keeps the transaction alive (100 Trying and
   * retransmissions). Unset → the engine answers with the last SDP sent.
   */
  setReinviteHandler(handler: ReinviteHandler): void;
  /** Blind transfer (REFER). Resolves with the final sipfrag status from NOTIFY. */
  refer(target: string): Promise<ReferProgress>;
}

export type SipEngineEvents = {
  call: [call: IncomingCall];
  /** Listener or connection problems worth logging; never a per-packet event. */
  warning: [message: string];
  /**
   * A request refused because the engine could not answer it faithfully (drachtio: headers not
   * UTF-8, or too large to echo through drachtio-server). Counted as a metric.
   */
  uncarriable: [problem: 'not-utf8' | 'too-large'];
};

export interface SipEngine extends TypedEmitter<SipEngineEvents> {
  readonly name: 'embedded' | 'drachtio';
  /** Opens listeners (or connects to drachtio-server). Resolves when calls can arrive. */
  start(): Promise<void>;
  /** Closes listeners; calls still up are ended with BYE first. Idempotent. */
  stop(): Promise<void>;
  /** While false, OPTIONS get 503 so carriers fail over (draining). The controller answers INVITEs. */
  setAccepting(accepting: boolean): void;
  /** Re-reads TLS certificate and key (SIGHUP) without dropping calls. */
  reloadTls(): Promise<void>;
  /** Where the engine actually listens (ports chosen by the OS when configured as 0). */
  listening(): ReadonlyArray<{ transport: SipTransport; address: string; port: number }>;
  /** The live state of signalling for /healthz, when the engine knows more than its listeners (drachtio's link). */
  health?(): { ok: boolean; detail: string };
}
