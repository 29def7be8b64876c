/**
 * Locates the RFC 4475 torture-test fixtures. Tests run compiled from dist/test/sip/message/, the
 * fixtures stay in the source tree (tsc does not copy .dat files).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RFC4475_DIR = fileURLToPath(new URL('../../../../test/fixtures/rfc4475/', import.meta.url));

export function loadFixture(name: string): Buffer {
  return readFileSync(RFC4475_DIR + name + '.dat');
}

export function fixtureNames(): string[] {
  return readdirSync(RFC4475_DIR)
    .filter((f) => f.endsWith('.dat'))
    .map((f) => f.slice(0, -4))
    .sort();
}
