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
  socket?: Socket;
  reconnectVars?: { retryTimer?: ReturnType<typeof setTimeout> | null };
}

interface AgentInternals {
  mapServer?: Map<Socket, unknown>;
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
