import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/**
 * systemd readiness (sd_notify): `READY=1` once the SIP listeners are open, `STOPPING=1` when
 * the drain starts, `RELOADING=1`/`READY=1` around SIGHUP. Sent by the native kalem_sys addon
 * (Node has no AF_UNIX datagram sockets). Outside systemd ($NOTIFY_SOCKET unset) it does nothing.
 */
const require = createRequire(import.meta.url);
const ADDON = resolve(fileURLToPath(import.meta.url), '../../../../native/build/Release/kalem_sys.node');

let addon: { notify(state: string): boolean } | null | undefined;

export function sdNotify(state: string): boolean {
  if (!process.env.NOTIFY_SOCKET) return false;
  addon ??= require(ADDON) as { notify(state: string): boolean };
  return addon.notify(state);
}
