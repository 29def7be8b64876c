/** A transaction layer on a FakeClock and FakeTransport, with a TU that records what it hears. */
import { FakeClock } from '../../../src/core/clock.js';
import type { SipRequest, SipResponse } from '../../../src/sip/embedded/message/types.js';
import {
  TransactionLayer,
  type ServerTransaction,
  type TransactionUser,
} from '../../../src/sip/embedded/transaction/transaction-layer.js';
import type { InviteServerTransaction } from '../../../src/sip/embedded/transaction/invite-server-transaction.js';
import type { NonInviteServerTransaction } from '../../../src/sip/embedded/transaction/non-invite-server-transaction.js';
import type { TransactionFailure } from '../../../src/sip/embedded/transaction/types.js';
import { FakeTransport } from './fake-transport.js';

export interface Harness {
  clock: FakeClock;
  start: number;
  transport: FakeTransport;
  layer: TransactionLayer;
  requests: Array<{ request: SipRequest; tx: ServerTransaction; sentBeforeTu: number }>;
  acks: SipRequest[];
  cancels: Array<{ cancel: SipRequest; cancelTx: NonInviteServerTransaction; invite: InviteServerTransaction | undefined }>;
  failures: Array<{ tx: ServerTransaction; reason: TransactionFailure; at: number }>;
  strays: SipResponse[];
  /** Milliseconds since the harness was built. */
  elapsed(): number;
}

export function harness(onRequest?: (request: SipRequest, tx: ServerTransaction) => void): Harness {
  const clock = new FakeClock();
  const start = clock.now();
  const transport = new FakeTransport(() => clock.now() - start);
  const h = {
    clock,
    start,
    transport,
    requests: [],
    acks: [],
    cancels: [],
    failures: [],
    strays: [],
    elapsed: () => clock.now() - start,
  } as unknown as Harness;
  const tu: TransactionUser = {
    onRequest(request, tx) {
      h.requests.push({ request, tx, sentBeforeTu: transport.sent.length });
      onRequest?.(request, tx);
    },
    onAck(ack) {
      h.acks.push(ack);
    },
    onCancel(cancel, cancelTx, invite) {
      h.cancels.push({ cancel, cancelTx, invite });
    },
    onServerFailure(tx, reason) {
      h.failures.push({ tx, reason, at: clock.now() - start });
    },
    onStrayResponse(response) {
      h.strays.push(response);
    },
  };
  h.layer = new TransactionLayer({ transport, clock, tu });
  return h;
}
