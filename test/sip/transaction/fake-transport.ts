/**
 * In-memory TransactionTransport for transaction tests (in the spirit of SIP.js core's test
 * transport): records what would have gone on the wire, can drop the next message once (to make
 * a retransmission necessary) or fail the next send (transport error). UDP is unreliable,
 * TCP/TLS reliable, as in the real layer.
 */
import { SipHeaders, type SipRequest, type SipResponse } from '../../../src/sip/embedded/message/types.js';
import type { TransactionTransport } from '../../../src/sip/embedded/transaction/types.js';
import type { ReceivedSource, SendTarget, TransportProtocol } from '../../../src/sip/embedded/transport/types.js';

export type Sent =
  | { kind: 'response'; response: SipResponse; source: ReceivedSource; at: number }
  | { kind: 'request'; request: SipRequest; target: SendTarget; at: number };

export class FakeTransport implements TransactionTransport {
  readonly sent: Sent[] = [];
  readonly dropped: Sent[] = [];
  private dropCount = 0;
  private failWith: Error | undefined;

  constructor(private readonly now: () => number = () => 0) {}

  /** The next message sent is lost on the way (recorded in `dropped`, not in `sent`). */
  dropNextOnce(): void {
    this.dropCount = 1;
  }

  /** The next send rejects with this error. */
  failNextOnce(err: Error): void {
    this.failWith = err;
  }

  isReliable(protocol: TransportProtocol): boolean {
    return protocol !== 'udp';
  }

  viaSentBy(_protocol: TransportProtocol): string {
    return '192.0.2.1:5060';
  }

  sendResponse(response: SipResponse, source: ReceivedSource): Promise<void> {
    return this.record({ kind: 'response', response, source, at: this.now() });
  }

  sendRequest(request: SipRequest, target: SendTarget): Promise<void> {
    return this.record({ kind: 'request', request, target, at: this.now() });
  }

  responses(): Array<{ status: number; at: number }> {
    const out: Array<{ status: number; at: number }> = [];
    for (const s of this.sent) if (s.kind === 'response') out.push({ status: s.response.status, at: s.at });
    return out;
  }

  requests(): Array<{ method: string; at: number }> {
    const out: Array<{ method: string; at: number }> = [];
    for (const s of this.sent) if (s.kind === 'request') out.push({ method: s.request.method, at: s.at });
    return out;
  }

  private record(s: Sent): Promise<void> {
    if (this.failWith !== undefined) {
      const err = this.failWith;
      this.failWith = undefined;
      return Promise.reject(err);
    }
    if (this.dropCount > 0) {
      this.dropCount--;
      this.dropped.push(s);
      return Promise.resolve();
    }
    this.sent.push(s);
    return Promise.resolve();
  }
}

export interface RequestSpec {
  method: string;
  branch?: string | null;
  cseq?: number;
  cseqMethod?: string;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  uri?: string;
  viaHost?: string;
}

/** A hand-built request as the transport layer would deliver it. */
export function makeRequest(spec: RequestSpec): SipRequest {
  const headers = new SipHeaders();
  const branch = spec.branch === undefined ? ';branch=z9hG4bKabc123' : spec.branch === null ? '' : `;branch=${spec.branch}`;
  headers.append('via', `SIP/2.0/UDP ${spec.viaHost ?? '198.51.100.7:5060'}${branch}`);
  headers.append('max-forwards', '70');
  headers.append('from', `<sip:+15550100@carrier.example>;tag=${spec.fromTag ?? 'from1'}`);
  headers.append('to', `<sip:+15550199@gw.example>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`);
  headers.append('call-id', spec.callId ?? 'call-1@carrier.example');
  headers.append('cseq', `${spec.cseq ?? 1} ${spec.cseqMethod ?? spec.method}`);
  headers.append('timestamp', '54');
  return { kind: 'request', method: spec.method, uri: spec.uri ?? 'sip:+15550199@gw.example', headers, body: Buffer.alloc(0) };
}

/** A response to a request we sent (for client transactions): copies its top Via and CSeq. */
export function responseTo(request: SipRequest, status: number): SipResponse {
  const headers = new SipHeaders();
  headers.append('via', request.headers.get('via')!);
  headers.append('from', request.headers.get('from')!);
  headers.append('to', `${request.headers.get('to')!};tag=remote1`);
  headers.append('call-id', request.headers.get('call-id')!);
  headers.append('cseq', request.headers.get('cseq')!);
  return { kind: 'response', status, reason: 'X', headers, body: Buffer.alloc(0) };
}

export function udpSource(): ReceivedSource {
  return { address: '198.51.100.7', port: 5060, transport: 'udp', localAddress: '192.0.2.1', localPort: 5060 };
}

export function tcpSource(): ReceivedSource {
  return {
    address: '198.51.100.7',
    port: 40000,
    transport: 'tcp',
    connectionId: 'tcp-1',
    localAddress: '192.0.2.1',
    localPort: 5060,
  };
}

/** Lets promise callbacks (transport-error paths) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
