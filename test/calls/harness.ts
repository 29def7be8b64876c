/**
 * One CallSession with real parts around it and a scripted SIP side: the daemon's own RTP
 * endpoint on a loopback socket (rtpengine.mode = "off", so no rtpengine), the real
 * RealtimeClient talking to the OpenAI Realtime STAND-IN (test/stand-ins; not OpenAI), real
 * metrics, registry and FrameClock. The SIP call is a `ScriptedCall`: the test decides when the
 * caller cancels, whether the ACK comes, and sees every progress/answer/reject/hangup. The SIP
 * engines themselves are tested against SIPp and drachtio elsewhere; this is about what the call
 * session does with their events, at moments no SIP peer can hit on purpose.
 */
import type { Test } from 'tap';
import { systemClock } from '../../src/core/clock.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { TypedEmitter } from '../../src/core/typed-emitter.js';
import { Metrics } from '../../src/api/metrics.js';
import { CallRegistry } from '../../src/calls/call-registry.js';
import { CallSession, type CallSessionDeps, type RealtimeCallDeps } from '../../src/calls/call-session.js';
import { FrameClock } from '../../src/media/frame-clock.js';
import { RtpPortAllocator } from '../../src/media/port-allocator.js';
import { RealtimeClient } from '../../src/realtime/realtime-client.js';
import { ReconnectPolicy } from '../../src/realtime/reconnect-policy.js';
import type {
  CallEndReason,
  IncomingCall,
  IncomingCallEvents,
  IncomingCallInfo,
  ReferProgress,
  ReinviteHandler,
  RejectOptions,
} from '../../src/sip/sip-engine.js';
import type { CallRecordEnd, CdrWriter, NewCallRecord } from '../../src/tenancy/ports.js';
import { DEFAULT_AGENT, type Account, type Agent, type Trunk } from '../../src/tenancy/model.js';
import { OpenAIRealtimeStandIn, type StandInOptions } from '../stand-ins/openai-realtime.js';

export const KEY = 'sk-test-call-session-key';

export const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

/** The SIP side of one call, driven by the test. */
export class ScriptedCall extends TypedEmitter<IncomingCallEvents> implements IncomingCall {
  readonly info: IncomingCallInfo;
  readonly progressSent: number[] = [];
  answered: string | null = null;
  rejected: { status: number; options?: RejectOptions } | null = null;
  hungUp = false;
  ended: CallEndReason | null = null;
  private answeredResolve!: () => void;
  /** Resolves once the session sent its 200 OK. */
  readonly whenAnswered = new Promise<void>((resolve) => (this.answeredResolve = resolve));
  private endedResolve!: (reason: CallEndReason) => void;
  /** Resolves with the reason once the call ended. */
  readonly whenEnded = new Promise<CallEndReason>((resolve) => (this.endedResolve = resolve));
  /** Runs when the session sends 180 (the test may cancel right there). */
  onProgress: (() => void) | undefined;
  /** Runs when the session sends 200; a throw is what an engine does for a call already cancelled. */
  onAnswer: (() => void) | undefined;

  constructor(sdp: string | null = OFFER, sipCallId = `sip-${Math.random().toString(36).slice(2)}@carrier`) {
    super();
    this.info = {
      callId: sipCallId,
      requestUri: 'sip:+14155550100@127.0.0.1',
      calledUser: '+14155550100',
      fromUri: 'sip:+14155550999@carrier.example',
      fromUser: '+14155550999',
      fromDisplayName: null,
      toUri: 'sip:+14155550100@127.0.0.1',
      userAgent: 'scripted',
      source: { address: '127.0.0.1', port: 5060, transport: 'udp' },
      localAddress: '127.0.0.1',
      sdp,
      digest: null,
      header: (name) => (name.toLowerCase() === 'from' ? '<sip:+14155550999@carrier.example>;tag=carrier-tag' : undefined),
    };
  }

  progress(status: 180 | 183): void {
    if (this.ended) throw new TypeError('call already ended');
    this.progressSent.push(status);
    this.onProgress?.();
  }

  async answer(sdp: string): Promise<void> {
    if (this.ended) throw new TypeError('call already ended');
    this.onAnswer?.();
    if (this.ended) throw new TypeError('call already ended');
    this.answered = sdp;
    this.answeredResolve();
  }

  reject(status: number, options?: RejectOptions): void {
    if (this.ended) throw new TypeError('call already ended');
    this.rejected = options === undefined ? { status } : { status, options };
    this.end('rejected');
  }

  async hangup(): Promise<void> {
    if (this.ended) return;
    this.hungUp = true;
    this.end('local-bye');
  }

  setReinviteHandler(_handler: ReinviteHandler): void {}

  async refer(): Promise<ReferProgress> {
    return { status: 503, reason: 'Service Unavailable' };
  }

  /** The caller's CANCEL (the engine has answered 487). */
  cancel(): void {
    if (this.ended) return;
    this.emit('cancel');
    this.end('cancelled');
  }

  /** The ACK for our 200 arrived. */
  ack(): void {
    this.emit('confirmed');
  }

  /** Timer H fired: no ACK for our 200. */
  noAck(): void {
    this.end('no-ack');
  }

  /** The caller's BYE. */
  bye(): void {
    this.end('remote-bye');
  }

  private end(reason: CallEndReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.emit('ended', reason);
    this.endedResolve(reason);
  }
}

export class MemoryCdrs implements CdrWriter {
  readonly rows = new Map<string, NewCallRecord & { end?: CallRecordEnd }>();
  insert(c: NewCallRecord): void {
    this.rows.set(c.id, { ...c });
  }
  finish(_accountId: string, callId: string, end: CallRecordEnd): void {
    const row = this.rows.get(callId);
    if (row) row.end = end;
  }
}

export interface SessionRig {
  standIn: OpenAIRealtimeStandIn;
  metrics: Metrics;
  registry: CallRegistry;
  cdrs: MemoryCdrs;
  log: Logger;
  /** Every RealtimeClient the sessions made. */
  clients: RealtimeClient[];
  /** How often the account's OpenAI key was unsealed. */
  unsealed: { count: number };
  audits: Array<{ action: string; details: Record<string, unknown> }>;
  deps: CallSessionDeps;
  /** Starts a session on `call` (a new ScriptedCall by default). */
  start(call?: ScriptedCall, agentOver?: Partial<Agent>): { call: ScriptedCall; session: CallSession };
}

export const account: Account = {
  id: 'acc_test',
  name: 'acme',
  status: 'active',
  maxConcurrentCalls: null,
  retention: { transcriptsDays: null, recordingsDays: null, cdrDays: null },
  createdAt: '',
  updatedAt: '',
};

const trunk: Trunk = { id: 'trk_test', accountId: 'acc_test', name: 'carrier', cidrs: ['127.0.0.1/32'], digestUsername: null, hasDigestPassword: false, maxConcurrentCalls: null, createdAt: '' };

export function testAgent(over: Partial<Agent> = {}): Agent {
  return {
    ...DEFAULT_AGENT,
    id: 'agt_test',
    accountId: 'acc_test',
    name: 'assistant',
    kind: 'realtime',
    createdAt: '',
    updatedAt: '',
    firstWords: 'Hello, ACME here.',
    tools: { endCall: true, transferTarget: null, webhooks: [] },
    ...over,
  } as Agent;
}

export async function sessionRig(
  t: Test,
  options: { standIn?: Partial<StandInOptions>; realtime?: Partial<RealtimeCallDeps>; deps?: Partial<CallSessionDeps> } = {},
): Promise<SessionRig> {
  const standIn = await OpenAIRealtimeStandIn.start({ apiKey: KEY, ...options.standIn });
  t.teardown(() => standIn.close());
  const frameClock = new FrameClock(systemClock);
  t.teardown(() => frameClock.close());
  const log = createLogger({ level: process.env['TEST_LOG'] ? 'debug' : 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  const registry = new CallRegistry();
  const cdrs = new MemoryCdrs();
  const clients: RealtimeClient[] = [];
  const unsealed = { count: 0 };
  const audits: SessionRig['audits'] = [];
  const base = 40000 + 2 * Math.floor(Math.random() * 4000);
  const realtime: RealtimeCallDeps = {
    frameClock,
    reorderMs: 40,
    urlFor: (model) => standIn.url(model),
    authScheme: 'bearer',
    connectTimeoutMs: 3000,
    reconnect: () => new ReconnectPolicy({ maxAttempts: 0, budgetMs: 0 }),
    newClient: (l) => {
      const c = new RealtimeClient({ logger: l, clock: systemClock, pingIntervalMs: 0 });
      clients.push(c);
      return c;
    },
    openSecret: (_accountId, name) => {
      if (name !== 'openai') return undefined;
      unsealed.count++;
      return new TextEncoder().encode(KEY);
    },
    wipe: (b) => b.fill(0),
    resamplerQuality: 3,
    dtmfCollectMs: 500,
    webhook: { timeoutMs: 1000, maxResponseBytes: 1000, fillerAfterMs: 300, allowPrivateNetworks: true },
    storeTranscript: () => undefined,
    audit: (_accountId, action, details) => audits.push({ action, details }),
    ...options.realtime,
  };
  const deps: CallSessionDeps = {
    clock: systemClock,
    log,
    registry,
    cdrs,
    rtp: new RtpPortAllocator('127.0.0.1', base, base + 200),
    echoRingMs: 0,
    metrics,
    sdpAddress: () => '127.0.0.1',
    realtime,
    ...options.deps,
  };
  const rig: SessionRig = {
    standIn,
    metrics,
    registry,
    cdrs,
    log,
    clients,
    unsealed,
    audits,
    deps,
    start(call = new ScriptedCall(), agentOver = {}) {
      const session = new CallSession(call, { kind: 'accept', account, agent: testAgent(agentOver), trunk, e164: '+14155550100' }, deps);
      session.start();
      // Whatever a test leaves up ends with it.
      t.teardown(() => call.bye());
      return { call, session };
    },
  };
  return rig;
}

/** Resolves once `check` holds (re-checked every 10 ms), or rejects naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Stand-in connections whose socket is still open. */
export function openSessions(standIn: OpenAIRealtimeStandIn): number {
  return standIn.connections.filter((c) => !c.closed).length;
}
