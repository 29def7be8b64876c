import { createRequire } from 'node:module';
import type * as SodiumNs from 'libsodium-wrappers';

/**
 * libsodium-wrappers' ES module build imports a file its package does not ship (0.7.x), so it is
 * loaded through CommonJS. Everything in crypto/ gets sodium from here, after `sodiumReady()`.
 */
const require = createRequire(import.meta.url);
export type Sodium = typeof SodiumNs;
const sodium = require('libsodium-wrappers') as Sodium;

export async function sodiumReady(): Promise<Sodium> {
  await sodium.ready;
  return sodium;
}
