/**
 * The transaction layer (RFC 3261 §17): keeps the live transactions in two maps, matches each
 * incoming message to one (transaction-key.ts), creates server transactions for new requests and
 * client transactions for the requests the TU sends, and tells the TU (the UA core) what it must
 * decide. It never touches a socket: it talks to a TransactionTransport.
 *
 * Routing of incoming requests:
 *   - matches a server transaction → that transaction (retransmission, or ACK for a non-2xx);
 *     an ACK matched in Accepted state goes to the TU (RFC 6026 §8.7);
 *   - ACK matching nothing → the TU (`onAck`): it is the ACK for a 2xx, which belongs to the
 *     dialog, not to any transaction (§17.2.3, §13.3.1.4);
 *   - CANCEL → its own non-INVITE server transaction, plus the INVITE server transaction it
 *     cancels (same branch, method INVITE; undefined if none) → `onCancel`. The TU answers 200
 *     to the CANCEL and 487 to the INVITE (or 481 when there is no INVITE) — §9.2;
 *   - any other new request → a new server transaction → `onRequest`. For INVITE the
 *     100 Trying has already gone out, synchronously, before `onRequest` is called.
 *
 * Incoming responses match client transactions by branch + CSeq method (§17.1.3); others are
 * dropped (or handed to `onStrayResponse`).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../core/clock.js';
import { parseCSeq } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import type { ReceivedSource, SendTarget, TransportProtocol } from '../transport/types.js';
import { timerTables, type SipTimers, type TimerTables } from '../timers.js';
import { InviteServerTransaction, type ServerTransactionHooks } from './invite-server-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { MAGIC_COOKIE, clientKey, serverKey, topVia } from './transaction-key.js';
import type { ServerTransactionLike, TransactionFailure, TransactionTransport } from './types.js';

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

export interface TransactionUser {
  /** A new request other than ACK and CANCEL. Answer it with `tx.respond(...)`. */
  onRequest(request: SipRequest, tx: ServerTransaction): void;
  /** An ACK no transaction absorbed: the ACK for a 2xx (stop the Uas2xxRetransmitter). */
  onAck(ack: SipRequest, source: ReceivedSource): void;
  /**
   * A new CANCEL. Answer 200 through `cancelTx`; if `invite` is defined and not yet final,
   * answer it 487. With `invite` undefined, answer the CANCEL 481 (§9.2).
   */
  onCancel(cancel: SipRequest, cancelTx: NonInviteServerTransaction, invite: InviteServerTransaction | undefined): void;
  /** A server transaction ended badly: Timer H (`no-ack`), TU never answered (`timeout`), transport error. */
  onServerFailure?(tx: ServerTransaction, reason: TransactionFailure, error?: Error): void;
  /** A response that matched no client transaction (e.g. a late retransmission). */
  onStrayResponse?(response: SipResponse, source: ReceivedSource): void;
}

export interface TransactionLayerOptions {
  transport: TransactionTransport;
  clock: Clock;
  tu: TransactionUser;
  /** Timer tables; defaults from T1=500, T2=4000, T4=5000. */
  timers?: TimerTables;
}

export interface SendRequestOptions {
  onProvisional?: (response: SipResponse) => void;
}

export class TransactionLayer {
  private readonly transport: TransactionTransport;
  private readonly clock: Clock;
  private readonly tu: TransactionUser;
  private readonly timers: TimerTables;
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, NonInviteClientTransaction>();
  /** Per-process random part of our branches; a counter makes each one unique (§8.1.1.7). */
  private readonly branchPrefix = MAGIC_COOKIE + randomBytes(6).toString('hex');
  private branchSeq = 0;
  private closed = false;
  private readonly hooks: ServerTransactionHooks;

  constructor(options: TransactionLayerOptions) {
    if (options.transport === undefined || options.clock === undefined || options.tu === undefined) {
      throw new TypeError('TransactionLayer needs transport, clock and tu');
    }
    this.transport = options.transport;
    this.clock = options.clock;
    this.tu = options.tu;
    this.timers = options.timers ?? timerTables();
    this.hooks = {
      terminated: (tx) => {
        if (this.servers.get(tx.id) === tx) this.servers.delete(tx.id);
      },
      failed: (tx, reason, error) => this.tu.onServerFailure?.(tx as ServerTransaction, reason, error),
    };
  }

  /** Live transactions, for metrics and tests. */
  get serverTransactionCount(): number {
    return this.servers.size;
  }

  get clientTransactionCount(): number {
    return this.clients.size;
  }

  timersFor(protocol: TransportProtocol): SipTimers {
    return this.transport.isReliable(protocol) ? this.timers.reliable : this.timers.unreliable;
  }

  /** Feed every request from the transport layer here. */
  receiveRequest(request: SipRequest, source: ReceivedSource): void {
    if (this.closed) return;
    let via: ReturnType<typeof topVia>;
    let key: string;
    try {
      via = topVia(request);
      key = serverKey(request, via);
    } catch {
      return; // the transport layer only delivers parsed, validated requests; never reached in practice
    }
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      if (existing instanceof InviteServerTransaction) {
        if (existing.receive(request) === 'ack-to-tu') this.tu.onAck(request, source);
      } else {
        existing.receive(request);
      }
      return;
    }
    if (request.method === 'ACK') {
      this.tu.onAck(request, source);
      return;
    }
    const base = { id: key, request, source, transport: this.transport, clock: this.clock, hooks: this.hooks };
    const timers = this.timersFor(source.transport);
    if (request.method === 'INVITE') {
      const tx = new InviteServerTransaction({ ...base, timers });
      this.servers.set(key, tx);
      tx.sendTrying();
      this.tu.onRequest(request, tx);
      return;
    }
    const tx = new NonInviteServerTransaction({ ...base, timers });
    this.servers.set(key, tx);
    if (request.method === 'CANCEL') {
      const invite = this.servers.get(serverKey(request, via, 'INVITE'));
      this.tu.onCancel(request, tx, invite instanceof InviteServerTransaction ? invite : undefined);
      return;
    }
    this.tu.onRequest(request, tx);
  }

  /** Feed every response from the transport layer here. */
  receiveResponse(response: SipResponse, source: ReceivedSource): void {
    if (this.closed) return;
    let tx: NonInviteClientTransaction | undefined;
    try {
      const branch = topVia(response).branch;
      const cseq = parseCSeq(response.headers.get('cseq') ?? '');
      if (branch !== undefined) tx = this.clients.get(clientKey(branch, cseq.method));
    } catch {
      tx = undefined; // unparsable Via/CSeq: cannot be ours
    }
    if (tx !== undefined) tx.receive(response);
    else this.tu.onStrayResponse?.(response, source);
  }

  /**
   * Sends a non-INVITE request (BYE, NOTIFY, REFER, OPTIONS, INFO …) in a new client
   * transaction. The layer puts our Via on top (sent-by from the transport, a fresh branch,
   * `rport` per RFC 3581); the request must not carry a Via of its own. INVITE and ACK are not
   * sent through here: this engine is a UAS and never starts INVITE transactions, and an ACK is
   * not a transaction.
   */
  sendRequest(request: SipRequest, target: SendTarget, options: SendRequestOptions = {}): NonInviteClientTransaction {
    if (this.closed) throw new Error('transaction layer is closed');
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new TypeError(`${request.method} cannot be sent in a non-INVITE client transaction`);
    }
    if (request.headers.has('via')) throw new TypeError('a request to send must not carry a Via; the transaction layer adds it');
    const branch = `${this.branchPrefix}${(++this.branchSeq).toString(36)}`;
    const proto = target.transport.toUpperCase();
    request.headers.prepend('via', `SIP/2.0/${proto} ${this.transport.viaSentBy(target.transport)};branch=${branch};rport`);
    const key = clientKey(branch, request.method);
    const txOptions: ConstructorParameters<typeof NonInviteClientTransaction>[0] = {
      id: key,
      request,
      target,
      transport: this.transport,
      clock: this.clock,
      timers: this.timersFor(target.transport),
      terminated: (tx) => {
        if (this.clients.get(tx.id) === tx) this.clients.delete(tx.id);
      },
    };
    if (options.onProvisional !== undefined) txOptions.onProvisional = options.onProvisional;
    const tx = new NonInviteClientTransaction(txOptions);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Ends every transaction and cancels every timer. Pending client outcomes resolve as transport errors. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of [...this.servers.values()]) tx.terminate();
    for (const tx of [...this.clients.values()]) tx.terminate();
    this.servers.clear();
    this.clients.clear();
  }
}

export type { ServerTransactionLike };
