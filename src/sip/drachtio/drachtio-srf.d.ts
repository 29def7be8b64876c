/**
 * Minimal ambient types for drachtio-srf 5.x: only what src/sip/drachtio/ uses.
 *
 * drachtio-srf ships its own lib/@types/index.d.ts, but several of its signatures do not match
 * the JavaScript (e.g. `connect()` returns the app, not a Promise; `source_port` is a number;
 * `Dialog#request` takes plain options). An ambient module declaration takes precedence over the
 * package's types, so this file is the single source of truth for the adapter. Everything here
 * was checked against lib/srf.js, lib/dialog.js, lib/request.js, lib/response.js and
 * lib/drachtio-agent.js of drachtio-srf 5.0.29.
 */
declare module 'drachtio-srf' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  namespace Srf {
    /** A parsed SIP message as drachtio-srf hands it over (headers lazily parsed). */
    interface SipMessage {
      readonly type: 'request' | 'response' | 'unknown';
      /** The message text exactly as drachtio-server sent it. */
      readonly raw?: string;
      readonly body: string;
      /** Header value by case-insensitive name; repeated header lines are joined with ','. */
      get(name: string): string | undefined;
      has(name: string): boolean;
    }

    interface SrfRequest extends SipMessage, EventEmitter {
      readonly method: string;
      readonly uri: string;
      /** 'network' for requests from a SIP peer, 'application' for requests drachtio-server made. */
      readonly source: 'network' | 'application';
      readonly source_address: string;
      readonly source_port: number;
      /** 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' */
      readonly protocol: string;
      /** `address:port` of drachtio-server's listener the request arrived on (newer servers). */
      readonly receivedOn?: string;
      readonly stackTxnId: string;
      readonly stackDialogId?: string;
      readonly isNewInvite: boolean;
      /** Set by drachtio-srf once drachtio-server reported a CANCEL for this INVITE. */
      readonly canceled?: boolean;
      readonly payload: ReadonlyArray<{ type: string | null | undefined; content?: string }>;
      /** The drachtio-server connection this request arrived on. */
      socket: Socket;
    }

    interface SendOptions {
      headers?: Record<string, string>;
      body?: string;
    }

    interface SrfResponse {
      readonly status: number;
      readonly reason: string;
      readonly body: string;
      readonly finalResponseSent: boolean;
      socket: Socket;
      get(name: string): string | undefined;
      send(status: number, reason: string, opts?: SendOptions, callback?: (err: unknown, msg: SipMessage) => void): void;
      send(status: number, opts?: SendOptions, callback?: (err: unknown, msg: SipMessage) => void): void;
    }

    interface DialogRequestOptions {
      method: string;
      headers?: Record<string, string>;
      body?: string;
    }

    interface Dialog extends EventEmitter {
      /** drachtio-server's dialog id (Call-ID;from-tag=…). */
      readonly id: string;
      readonly connected: boolean;
      readonly sip: { callId: string; localTag: string; remoteTag: string };
      /** Mutable: drachtio-srf answers UPDATEs and hold re-INVITEs with `local.sdp`. */
      readonly local: { uri: string; sdp: string; contact: string };
      readonly remote: { uri: string; sdp: string };
      /** The INVITE that created the dialog; its `socket` is the connection requests go out on. */
      readonly req: SrfRequest;
      destroy(opts: { headers?: Record<string, string> }, callback: (err: unknown, msg?: SipMessage) => void): this;
      request(opts: DialogRequestOptions, callback: (err: unknown, res?: SrfResponse) => void): this;
    }

    interface ConnectOptions {
      host: string;
      port: number;
      secret: string;
      /** lib/wire-protocol.js: the back-off between reconnect attempts stops growing at retryMaxDelay ms. */
      reconnect?: { retryMaxDelay?: number };
    }

    interface RequestOptions {
      method: string;
      headers?: Record<string, string>;
      body?: string;
    }

    /** A request we sent (Srf#request): its responses arrive as 'response' events. */
    interface SentRequest extends EventEmitter {
      on(event: 'response', listener: (res: SrfResponse) => void): this;
    }

    interface CreateUasOptions {
      localSdp: string;
      headers?: Record<string, string>;
    }
  }

  class Srf extends EventEmitter {
    constructor();
    /** Starts connecting; outcome arrives as a 'connect' event (err, hostport, serverVersion). */
    connect(opts: Srf.ConnectOptions): this;
    disconnect(): void;
    invite(handler: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void): void;
    options(handler: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void): void;
    createUAS(
      req: Srf.SrfRequest,
      res: Srf.SrfResponse,
      opts: Srf.CreateUasOptions,
      callback: (err: (Error & { status?: number }) | null, dialog?: Srf.Dialog) => void,
    ): this;
    /** Sends a request outside any dialog on the given connection; the callback runs once it is sent. */
    request(socket: Socket, uri: string, opts: Srf.RequestOptions, callback: (err: unknown, req?: Srf.SentRequest) => void): this;
    /** Asks drachtio-server to stop sending new requests of that method (and, in drachtio-server 1.0, of every method). */
    unregisterForMessages(verb: string): void;
    /** Asks drachtio-server to send new requests of that method again. */
    reregisterForMessages(verb: string): void;
    /** Forgets a dialog (drachtio-srf otherwise keeps it until a BYE goes either way). */
    removeDialog(dialog: Srf.Dialog): void;
    /** The connect-style app; its `client` is the DrachtioAgent (see srf-connection.ts). */
    readonly app: unknown;
  }

  export = Srf;
}
