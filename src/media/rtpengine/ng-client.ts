/**
 * A client for rtpengine's ng control protocol over UDP: `offer`, `answer`, `delete`, `query`,
 * `list`, `ping`.
 *
 * Wire format: `<cookie> <bencoded dictionary>` in one datagram each way; the reply carries the
 * request's cookie. rtpengine remembers recent cookies and answers a retransmitted request from
 * its cache without acting twice, so a request is simply sent again (same cookie) until a reply
 * arrives or its deadline passes.
 *
 * Like mediasoup's Channel, every request waits in one map keyed by cookie; when the control
 * socket fails or the client is closed, all of them are rejected at once, so nothing hangs. A
 * command that cannot be sent (larger than a datagram, EMSGSIZE) fails alone: one call's
 * oversized SDP must not take every other call's rtpengine control down with it. The
 * socket is `connect()`ed to rtpengine, which makes an ICMP port-unreachable (rtpengine not
 * running) surface at once as a socket error instead of a silent timeout; a fresh socket is made
 * for the next command.
 *
 * Why not the npm package `rtpengine-client` (0.4.12, which we tried): it keeps pending requests in
 * a map but never rejects them when its socket fails or is closed (they wait for the optional
 * timeout or forever), its `close()` throws when called twice, it emits an unhandled-`error`-event
 * (a process crash without a listener) and writes to the console for every late reply, its UDP
 * socket is not connected (so a stopped rtpengine is only noticed by timeout), and it has no
 * types. The protocol itself is a dozen lines of bencode over dgram.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { bencodeDecode, bencodeEncode, type BencodeInput, type BencodeValue } from './bencode.js';
import { RtpengineError } from './rtpengine-error.js';

// ---------------------------------------------------------------------------------------------
// Typed parameters, named as rtpengine's ng documentation names them (hyphens for spaces).

export type TransportProtocol = 'RTP/AVP' | 'RTP/AVPF' | 'RTP/SAVP' | 'RTP/SAVPF' | 'UDP/TLS/RTP/SAVP' | 'UDP/TLS/RTP/SAVPF';

/** SDES crypto suites rtpengine 10.5 knows (RFC 4568, RFC 6188, RFC 7714). */
export type SdesCryptoSuite =
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_192_CM_HMAC_SHA1_32'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_32'
  | 'AEAD_AES_128_GCM'
  | 'AEAD_AES_256_GCM'
  | 'F8_128_HMAC_SHA1_80'
  | 'F8_128_HMAC_SHA1_32'
  | 'NULL_HMAC_SHA1_80'
  | 'NULL_HMAC_SHA1_32';

export type SdesOption =
  | 'off'
  | 'no'
  | 'disable'
  | 'pad'
  | 'lifetime'
  | 'static'
  | 'unencrypted_srtp'
  | 'unencrypted_srtcp'
  | 'unauthenticated_srtp'
  | 'encrypted_srtp'
  | 'encrypted_srtcp'
  | 'authenticated_srtp'
  | `no-${SdesCryptoSuite}`
  | `only-${SdesCryptoSuite}`;

/** The `flags` rtpengine documents for offer/answer; other strings pass through unchecked. */
export type NgFlag =
  | 'SIP-source-address'
  | 'trust-address'
  | 'symmetric'
  | 'asymmetric'
  | 'unidirectional'
  | 'strict-source'
  | 'media-handover'
  | 'reset'
  | 'port-latching'
  | 'no-port-latching'
  | 'no-rtcp-attribute'
  | 'full-rtcp-attribute'
  | 'loop-protect'
  | 'always-transcode'
  | 'single-codec'
  | 'reuse-codecs'
  | 'allow-transcoding'
  | 'original-sendrecv'
  | 'inject-DTMF'
  | 'detect-DTMF'
  | 'generate-RTCP'
  | 'pierce-NAT'
  | 'NAT-wait'
  | 'reject-ICE'
  | 'debug'
  | 'fatal'
  | (string & {});

export type NgReplace = 'origin' | 'session-connection' | 'SDP-version' | 'username' | 'session-name' | 'zero-address';

export interface NgCodecOptions {
  /** Codecs removed from the SDP as if never offered (`all` / `full` for every codec). */
  strip?: string[];
  /** Codecs kept when `strip`/`mask` is `all`. */
  except?: string[];
  /** Like `except`, and the first one becomes the preferred codec. */
  offer?: string[];
  /** Codecs added (transcoding engaged if they were not offered), e.g. `['PCMU']`. */
  transcode?: string[];
  /** Removed from the outgoing SDP but still accepted from the offerer for transcoding. */
  mask?: string[];
  consume?: string[];
  accept?: string[];
  /** Options (bitrate) for implicitly transcoded codecs, e.g. `AMR/8000/1/7400`. */
  set?: string[];
}

/** Keys shared by `offer` and `answer`. */
export interface NgSdpParams {
  sdp: string;
  'call-id': string;
  'from-tag': string;
  'via-branch'?: string;
  label?: string;
  flags?: NgFlag[];
  replace?: NgReplace[];
  /** Logical interface names for [sender of this SDP, its recipient]; only in the first offer. */
  direction?: [string, string];
  /** The SIP message's source address; used as media address with `SIP-source-address`. */
  'received-from'?: ['IP4' | 'IP6', string];
  /** Overrides both the SDP address and `received-from`. */
  'media-address'?: string;
  'address-family'?: 'IP4' | 'IP6';
  ICE?: 'remove' | 'force' | 'default' | 'force-relay' | 'optional';
  'ICE-lite'?: 'forward' | 'backward' | 'both' | 'off';
  /** Protocol towards the recipient of the rewritten SDP; `accept` only in answers. */
  'transport-protocol'?: TransportProtocol | 'accept';
  'rtcp-mux'?: Array<'offer' | 'require' | 'demux' | 'accept' | 'reject'>;
  DTLS?: 'off' | 'no' | 'disable' | 'passive' | 'active';
  'DTLS-reverse'?: 'passive' | 'active';
  'DTLS-fingerprint'?: 'SHA-1' | 'SHA-224' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  SDES?: SdesOption[];
  OSRTP?: Array<'offer' | 'accept'>;
  'endpoint-learning'?: 'off' | 'immediate' | 'delayed' | 'heuristic';
  codec?: NgCodecOptions;
  ptime?: number;
  TOS?: number;
  'generate-RTCP'?: 'on' | 'off';
  'record-call'?: 'yes' | 'no' | 'on' | 'off';
  'drop-traffic'?: 'start' | 'stop';
}

export type NgOfferParams = NgSdpParams;

export interface NgAnswerParams extends NgSdpParams {
  'to-tag': string;
}

export interface NgDeleteParams {
  'call-id': string;
  'from-tag'?: string;
  'to-tag'?: string;
  'via-branch'?: string;
  /** `fatal`: an unknown call is an error instead of an `ok` with a warning. */
  flags?: Array<'fatal' | (string & {})>;
  /** Seconds; overrides the daemon's `delete-delay` (0 = at once). */
  'delete-delay'?: number;
}

export interface NgQueryParams {
  'call-id': string;
  'from-tag'?: string;
  'to-tag'?: string;
}

export interface NgListParams {
  /** Maximum number of call-ids (rtpengine's default 32); keep the reply within one datagram. */
  limit?: number;
}

/** A decoded reply dictionary. */
export type NgReply = { [key: string]: BencodeValue };

export interface NgSdpResult {
  /** The rewritten SDP. */
  sdp: string;
  /** A non-fatal complaint rtpengine attached to an `ok`. */
  warning?: string;
  raw: NgReply;
}

export interface NgDeleteResult {
  warning?: string;
  raw: NgReply;
}

/** `query` reply: creation time, last signalling time, per-tag streams and totals. */
export interface NgQueryResult {
  /** Seconds since the epoch. */
  created?: number;
  lastSignal?: number;
  /** Tags (SIP from/to tags) rtpengine knows for the call. */
  tags: string[];
  raw: NgReply;
}

export interface CommandOptions {
  /** Overrides the client's per-command deadline. */
  timeoutMs?: number;
}

export interface NgClientOptions {
  /** rtpengine's `listen-ng` address, "host:port" or "[v6]:port". */
  address: string;
  /** Deadline per command (default 3000 ms). An offer that transcodes can take tens of ms. */
  timeoutMs?: number;
  /** Resend a pending request with the same cookie this often (default 500 ms; 0 = never). */
  retransmitMs?: number;
  /**
   * Largest command sent (default 65,507 bytes: the most one IPv4 UDP datagram carries). A
   * larger one fails alone (`send`) without touching the socket.
   */
  maxCommandBytes?: number;
  clock?: Clock;
}

/** The payload limit of one UDP datagram over IPv4 (65,535 − 8 UDP − 20 IP header bytes). */
export const MAX_DATAGRAM_BYTES = 65_507;

interface Pending {
  readonly command: string;
  readonly message: Buffer;
  readonly resolve: (reply: NgReply) => void;
  readonly reject: (err: RtpengineError) => void;
  readonly timers: TimerHandle[];
}

export class NgClient {
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly retransmitMs: number;
  private readonly maxCommandBytes: number;
  private readonly clock: Clock;
  private readonly pending = new Map<string, Pending>();
  /** Random per client, so two clients (or a restarted daemon's cache) never share a cookie. */
  private readonly cookieBase = randomBytes(6).toString('hex');
  private seq = 0;
  private socket: Socket | undefined;
  /** Resolves once `socket` is connected; undefined while there is no socket. */
  private socketReady: Promise<Socket> | undefined;
  private closedFlag = false;

  constructor(options: NgClientOptions) {
    const { host, port } = splitHostPort(options.address);
    this.address = options.address;
    this.host = host;
    this.port = port;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.retransmitMs = options.retransmitMs ?? 500;
    this.maxCommandBytes = options.maxCommandBytes ?? MAX_DATAGRAM_BYTES;
    this.clock = options.clock ?? systemClock;
    if (!(this.timeoutMs > 0)) throw new TypeError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (!(this.retransmitMs >= 0)) throw new TypeError(`retransmitMs must be >= 0, got ${this.retransmitMs}`);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Commands sent and not yet answered, rejected or timed out. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Resolves with the round trip in milliseconds once rtpengine answers `pong`. */
  async ping(options?: CommandOptions): Promise<number> {
    const started = this.clock.monotonic();
    const reply = await this.command('ping', {}, options);
    if (reply.result !== 'pong') {
      throw new RtpengineError('protocol', 'ping', `expected result "pong", got ${JSON.stringify(reply.result)}`);
    }
    return this.clock.monotonic() - started;
  }

  async offer(params: NgOfferParams, options?: CommandOptions): Promise<NgSdpResult> {
    return sdpResult('offer', await this.command('offer', params as unknown as BencodeDict, options));
  }

  async answer(params: NgAnswerParams, options?: CommandOptions): Promise<NgSdpResult> {
    return sdpResult('answer', await this.command('answer', params as unknown as BencodeDict, options));
  }

  async delete(params: NgDeleteParams, options?: CommandOptions): Promise<NgDeleteResult> {
    const raw = await this.command('delete', params as unknown as BencodeDict, options);
    return typeof raw.warning === 'string' ? { warning: raw.warning, raw } : { raw };
  }

  async query(params: NgQueryParams, options?: CommandOptions): Promise<NgQueryResult> {
    const raw = await this.command('query', params as unknown as BencodeDict, options);
    const tags = isDict(raw.tags) ? Object.keys(raw.tags) : [];
    const result: NgQueryResult = { tags, raw };
    if (typeof raw.created === 'number') result.created = raw.created;
    if (typeof raw['last signal'] === 'number') result.lastSignal = raw['last signal'];
    return result;
  }

  /** Call-ids rtpengine currently holds (at most `limit`, default 32). */
  async list(params: NgListParams = {}, options?: CommandOptions): Promise<string[]> {
    const raw = await this.command('list', params as unknown as BencodeDict, options);
    const calls = raw.calls;
    if (calls === undefined) return [];
    if (!Array.isArray(calls) || !calls.every((c): c is string => typeof c === 'string')) {
      throw new RtpengineError('protocol', 'list', `expected "calls" to be a list of call-ids`);
    }
    return calls;
  }

  /**
   * Sends any ng command and resolves with the reply dictionary. Rejects with RtpengineError:
   * `rejected` for `result: error`, `timeout`, `socket`, `closed`, `protocol`.
   */
  command(name: string, params: BencodeDict, options?: CommandOptions): Promise<NgReply> {
    if (this.closedFlag) {
      return Promise.reject(new RtpengineError('closed', name, `ng client for ${this.address} is closed`));
    }
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    const cookie = `${this.cookieBase}_${++this.seq}`;
    const message = Buffer.concat([Buffer.from(`${cookie} `), bencodeEncode({ ...params, command: name })]);
    if (message.length > this.maxCommandBytes) {
      return Promise.reject(
        new RtpengineError('send', name, `"${name}" is ${message.length} bytes, too large for one ng datagram (at most ${this.maxCommandBytes})`),
      );
    }
    return new Promise<NgReply>((resolve, reject) => {
      const entry: Pending = { command: name, message, resolve, reject, timers: [] };
      this.pending.set(cookie, entry);
      this.updateRef();
      entry.timers.push(
        this.clock.setTimer(timeoutMs, () =>
          this.settle(cookie, new RtpengineError('timeout', name, `rtpengine at ${this.address} did not answer "${name}" within ${timeoutMs} ms`)),
        ),
      );
      this.transmit(cookie, entry);
    });
  }

  /**
   * Closes the socket and rejects every pending command (`closed`). Idempotent; later commands
   * reject at once.
   */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.rejectAll((command) => new RtpengineError('closed', command, `ng client for ${this.address} was closed while "${command}" was pending`));
    this.dropSocket();
  }

  // -------------------------------------------------------------------------------------------

  private transmit(cookie: string, entry: Pending): void {
    this.ensureSocket().then(
      (socket) => {
        if (!this.pending.has(cookie)) return;
        socket.send(entry.message, (err) => {
          if (!err) return;
          // rtpengine not listening (ICMP port unreachable) concerns every command; anything else
          // (EMSGSIZE, ENOBUFS) concerns this datagram only: the socket and the others carry on.
          if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.socketFailed(socket, err);
          else this.settle(cookie, new RtpengineError('send', entry.command, `cannot send "${entry.command}" to rtpengine at ${this.address}: ${err.message}`, { cause: err }));
        });
        if (this.retransmitMs > 0) {
          entry.timers.push(this.clock.setTimer(this.retransmitMs, () => this.pending.has(cookie) && this.transmit(cookie, entry)));
        }
      },
      (err: unknown) =>
        this.settle(cookie, new RtpengineError('socket', entry.command, `cannot open the control socket to ${this.address}: ${errText(err)}`, { cause: err })),
    );
  }

  private ensureSocket(): Promise<Socket> {
    if (this.socketReady) return this.socketReady;
    const socket = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', (err) => this.socketFailed(socket, err));
    this.socketReady = new Promise<Socket>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(this.port, this.host, () => {
        socket.off('error', reject);
        this.updateRef();
        resolve(socket);
      });
    });
    // A rejection here is also delivered to every transmit() waiting on it.
    this.socketReady.catch(() => undefined);
    return this.socketReady;
  }

  /** A failed socket is dropped and every pending command rejected as retryable. */
  private socketFailed(socket: Socket, err: NodeJS.ErrnoException): void {
    if (socket !== this.socket) return;
    this.dropSocket();
    const why = err.code === 'ECONNREFUSED' ? 'connection refused (nothing listens there)' : err.message;
    this.rejectAll((command) => new RtpengineError('socket', command, `control socket to rtpengine at ${this.address} failed: ${why}`, { cause: err }));
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.socketReady = undefined;
    if (socket) {
      socket.removeAllListeners('message');
      // Keep an error listener: a late ICMP error must not become an unhandled 'error' event.
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // already closed (ERR_SOCKET_DGRAM_NOT_RUNNING)
      }
    }
  }

  private onMessage(msg: Buffer): void {
    const space = msg.indexOf(0x20);
    if (space <= 0) return;
    const cookie = msg.toString('latin1', 0, space);
    const entry = this.pending.get(cookie);
    if (!entry) return; // a late answer to a command that already timed out, or a retransmission's
    let reply: BencodeValue;
    try {
      reply = bencodeDecode(msg.subarray(space + 1));
    } catch (err) {
      this.settle(cookie, new RtpengineError('protocol', entry.command, `undecodable reply to "${entry.command}": ${errText(err)}`, { cause: err }));
      return;
    }
    if (!isDict(reply)) {
      this.settle(cookie, new RtpengineError('protocol', entry.command, `reply to "${entry.command}" is not a dictionary`));
    } else if (reply.result === 'error') {
      const reason = typeof reply['error-reason'] === 'string' ? reply['error-reason'] : 'no reason given';
      this.settle(cookie, new RtpengineError('rejected', entry.command, `rtpengine refused "${entry.command}": ${reason}`));
    } else {
      this.settle(cookie, reply);
    }
  }

  private settle(cookie: string, outcome: NgReply | RtpengineError): void {
    const entry = this.pending.get(cookie);
    if (!entry) return;
    this.pending.delete(cookie);
    for (const t of entry.timers) t.cancel();
    this.updateRef();
    if (outcome instanceof RtpengineError) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  private rejectAll(make: (command: string) => RtpengineError): void {
    for (const cookie of [...this.pending.keys()]) {
      const entry = this.pending.get(cookie);
      if (entry) this.settle(cookie, make(entry.command));
    }
  }

  /** An idle client must not keep the process alive; one waiting for a reply must. */
  private updateRef(): void {
    if (!this.socket) return;
    try {
      if (this.pending.size > 0) this.socket.ref();
      else this.socket.unref();
    } catch {
      // socket not yet bound or already closed
    }
  }
}

type BencodeDict = { readonly [key: string]: BencodeInput | undefined };

function sdpResult(command: string, raw: NgReply): NgSdpResult {
  if (typeof raw.sdp !== 'string') throw new RtpengineError('protocol', command, `reply to "${command}" has no sdp`);
  return typeof raw.warning === 'string' ? { sdp: raw.sdp, warning: raw.warning, raw } : { sdp: raw.sdp, raw };
}

function isDict(v: BencodeValue | undefined): v is { [key: string]: BencodeValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new TypeError(`expected "host:port" or "[v6]:port", got "${address}"`);
  return { host: m[1]!, port };
}
