/**
 * The seams of the transaction layer (RFC 3261 §17). It never touches a socket: everything goes
 * out through `TransactionTransport` (implemented by transport/TransportLayer, and by an
 * in-memory fake in tests), and everything a transaction decides is reported to the
 * `TransactionUser` (the UA core).
 */
import type { SipRequest, SipResponse } from '../message/types.js';
import type { ReceivedSource, SendTarget, TransportProtocol } from '../transport/types.js';

export interface TransactionTransport {
  /** Reliable transports (TCP, TLS) get no retransmission timers (RFC 3261 Table 4). */
  isReliable(protocol: TransportProtocol): boolean;
  /**
   * Sends a response to the request that arrived from `requestSource`: over the same connection
   * when it is a stream and still open, otherwise per the response's top Via (§18.2.2, RFC 3581).
   */
  sendResponse(response: SipResponse, requestSource: ReceivedSource): Promise<void>;
  sendRequest(request: SipRequest, target: SendTarget): Promise<void>;
  /** `host[:port]` to put in the sent-by of the Via of requests we send over `protocol` (§18.1.1). */
  viaSentBy(protocol: TransportProtocol): string;
}

export type ServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
export type ClientTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** Why a transaction ended badly, as reported to the TU. */
export type TransactionFailure =
  /** Timer H: no ACK for a 3xx-6xx final response (RFC 3261 §17.2.1). */
  | 'no-ack'
  /** Timer F / B: no final response (§17.1.2.2). */
  | 'timeout'
  /** The transport could not send (§17.1.4, §17.2.4). */
  | 'transport-error';

/** Common surface of the server transactions the TU answers through. */
export interface ServerTransactionLike {
  readonly id: string;
  readonly request: SipRequest;
  readonly source: ReceivedSource;
  readonly state: ServerTransactionState;
  /** Sends a response through the transaction (provisional or final). */
  respond(response: SipResponse): void;
}

/** A TU asked a transaction for something its state does not allow (e.g. a second final response). */
export class InvalidStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}
