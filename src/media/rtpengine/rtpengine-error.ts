/**
 * The one error class of the rtpengine adapter, in the spirit of livekit's retryable upstream
 * errors: a caller (the call controller) only needs to know whether trying again, possibly after
 * rtpengine has come back, can help.
 *
 * - `timeout`: no reply within the command's deadline (rtpengine down, overloaded, packets lost).
 * - `socket`: the control socket failed (for example ICMP port unreachable while rtpengine
 *   restarts) — every pending command is rejected with this at once.
 * - `closed`: the client was closed while the command was pending, or used after close.
 * - `rejected`: rtpengine answered `result: error` (unknown call, bad SDP…): asking again
 *   with the same input gives the same answer.
 * - `protocol`: the reply could not be understood.
 * - `send`: this one command could not be sent (larger than a datagram, EMSGSIZE); the socket
 *   and every other command carry on. Sending the same command again gives the same failure.
 */
export type RtpengineErrorReason = 'timeout' | 'socket' | 'closed' | 'rejected' | 'protocol' | 'send';

export class RtpengineError extends Error {
  override readonly name = 'RtpengineError';
  /** True when the same command may succeed later (timeouts and socket failures). */
  readonly retryable: boolean;

  constructor(
    readonly reason: RtpengineErrorReason,
    /** The ng command that failed (`offer`, `ping`…). */
    readonly command: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = reason === 'timeout' || reason === 'socket';
  }
}
