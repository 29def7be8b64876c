import type { Socket } from 'node:net';
import type Srf from 'drachtio-srf';

/**
 * The two things the engine needs from drachtio-srf that its public API does not offer, kept in
 * this one file so an upgrade has one place to check (verified against drachtio-srf 5.0.29:
 * lib/drachtio-agent.js, lib/wire-protocol.js).
 *
 * 1. Giving up on a connection. `srf.disconnect()` throws when no socket is connected (for
 *    example after drachtio-server refused the secret and closed), and drachtio-srf reconnects
 *    forever otherwise. We set the wire protocol's `closing` flag (which its reconnect logic
 *    honours), cancel a pending retry and end every socket.
 * 2. The current connection. drachtio-server binds a dialog to the connection that created it,
 *    and drachtio-srf sends a dialog's requests on the socket its INVITE arrived on. After a
 *    reconnect the old socket is dead, so the engine re-points live dialogs at the new socket to
 *    keep hangup() and refer() working (drachtio-server finds a dialog by id on any connection).
 */

interface WireProtocolInternals {
  closing?: boolean;
  send?: (socket: Socket, msg: string) => string;
  socket?: Socket;
  reconnectVars?: { retryTimer?: ReturnType<typeof setTimeout> | null };
}

interface AgentInternals {
  mapServer?: Map<Socket, { pendingRequests?: Map<string, () => void> }>;
  wp?: WireProtocolInternals;
}

function agentOf(srf: Srf): AgentInternals | undefined {
  const app = srf.app as { client?: AgentInternals } | undefined;
  return app?.client;
}

/** The live, authenticated-or-authenticating connection to drachtio-server, if any. */
export function currentSocket(srf: Srf): Socket | undefined {
  const agent = agentOf(srf);
  for (const socket of agent?.mapServer?.keys() ?? []) {
    if (!socket.destroyed) return socket;
  }
  return undefined;
}

/** Stops reconnecting and closes every connection. Safe to call in any state, more than once. */
export function abandonConnection(srf: Srf): void {
  const agent = agentOf(srf);
  const wp = agent?.wp;
  if (!agent || !wp) return;
  wp.closing = true;
  const retry = wp.reconnectVars?.retryTimer;
  if (retry) {
    clearTimeout(retry);
    if (wp.reconnectVars) wp.reconnectVars.retryTimer = null;
  }
  const sockets = new Set<Socket>(agent.mapServer?.keys() ?? []);
  if (wp.socket) sockets.add(wp.socket);
  for (const s of sockets) {
    s.end();
    // A peer that never answers our FIN must not keep the socket (and the process) alive.
    setTimeout(() => s.destroy(), 1000).unref();
  }
}

/**
 * 3. Dropping a connection that is up but useless (the link watchdog found it deaf), so that
 *    drachtio-srf's own reconnect logic opens a new one. Unlike abandonConnection, the `closing`
 *    flag stays off.
 */
export function dropConnection(srf: Srf): void {
  const socket = currentSocket(srf);
  socket?.destroy();
}

interface ResponseInternals {
  msg?: { headers?: Record<string, string> };
  socket?: Socket;
}

interface ServerEntry {
  pendingNetworkInvites?: Map<string, unknown>;
}

/**
 * 4. A final response that copies nothing of its request. drachtio-srf puts the request's
 *    Call-ID, CSeq, From and To into every response it builds (lib/response.js); drachtio-server
 *    does not need them (sofia-sip completes a response from its own copy of the request, with
 *    the caller's original bytes), and for a request drachtio-server cannot carry back they are
 *    exactly what must not be sent (request-screen.ts). drachtio-srf indexes a pending INVITE by
 *    that Call-ID, so its entry is removed here instead of at send time.
 */
export function sendBareResponse(srf: Srf, res: Srf.SrfResponse, status: number, reason: string, callId: string | undefined): void {
  const r = res as unknown as ResponseInternals;
  const headers = r.msg?.headers;
  if (headers) {
    for (const name of Object.keys(headers)) {
      if (['call-id', 'cseq', 'from', 'to', 'i', 'f', 't'].includes(name.toLowerCase())) delete headers[name];
    }
  }
  res.send(status, reason, {});
  if (callId !== undefined && r.socket) {
    const entry = agentOf(srf)?.mapServer?.get(r.socket) as ServerEntry | undefined;
    entry?.pendingNetworkInvites?.delete(callId);
  }
}

/**
 * 5. A ping on drachtio's application protocol, answered by drachtio-server's client reader
 *    (client.cpp: `ping` → `response|…|OK|pong`). It goes through exactly the read buffer that
 *    wedges (request-screen.ts), so a missing pong means drachtio-server no longer reads us.
 *    drachtio-srf's own pinging (`enablePing`) never acts on a missing pong; this registers the
 *    ping as an ordinary pending request so its answer reaches `onPong`. False when not sent.
 */
export function pingServer(srf: Srf, socket: Socket, onPong: () => void): boolean {
  const agent = agentOf(srf);
  const entry = agent?.mapServer?.get(socket);
  const send = agent?.wp?.send;
  if (!agent?.wp || !entry?.pendingRequests || !send || socket.destroyed) return false;
  const msgId = send.call(agent.wp, socket, 'ping');
  entry.pendingRequests.set(msgId, onPong);
  return true;
}
