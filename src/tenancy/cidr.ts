import { createRequire } from 'node:module';
import type ipaddrType from 'ipaddr.js';
import { kalemError } from '../core/errors.js';

// Loaded on first use: read-only CLI commands import the provisioning service but parse no address.
const require = createRequire(import.meta.url);
let ipaddrModule: typeof ipaddrType | undefined;
const ip = (): typeof ipaddrType => (ipaddrModule ??= require('ipaddr.js') as typeof ipaddrType);
type IPv4 = ipaddrType.IPv4;
type IPv6 = ipaddrType.IPv6;

/**
 * Trunk source CIDRs, IPv4 and IPv6. A bare address is a /32 or /128. Stored in canonical text
 * form so duplicates compare equal; IPv4-mapped IPv6 sources match IPv4 ranges.
 */
export interface Cidr {
  readonly text: string;
  readonly address: IPv4 | IPv6;
  readonly prefix: number;
}

export function parseCidr(input: string): Cidr {
  const ipaddr = ip();
  const text = input.trim();
  try {
    let address: IPv4 | IPv6;
    let prefix: number;
    if (text.includes('/')) {
      const [addrText, prefixText] = text.split('/') as [string, string];
      if (!/^[0-9]{1,3}$/.test(prefixText)) throw new Error('bad prefix');
      if (!ipaddr.isValid(addrText)) throw new Error('bad address');
      address = ipaddr.parse(addrText);
      prefix = Number(prefixText);
      if (prefix > (address.kind() === 'ipv4' ? 32 : 128)) throw new Error('prefix too long');
    } else {
      if (!ipaddr.isValid(text)) throw new Error('bad address');
      address = ipaddr.parse(text);
      prefix = address.kind() === 'ipv4' ? 32 : 128;
    }
    if (address.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(text.split('/')[0]!)) throw new Error('short form');
    // Canonical network address: "10.0.0.7/8" is stored as "10.0.0.0/8".
    const network =
      address.kind() === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
        : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
    return { text: `${network.toString()}/${prefix}`, address: network, prefix };
  } catch {
    throw kalemError('KALEM_ERR_INVALID_CIDR', input);
  }
}

export function cidrContains(cidr: Cidr, source: string): boolean {
  const ipaddr = ip();
  if (!ipaddr.isValid(source)) return false;
  let addr = ipaddr.parse(source);
  if (addr.kind() === 'ipv6' && (addr as IPv6).isIPv4MappedAddress()) addr = (addr as IPv6).toIPv4Address();
  if (addr.kind() !== cidr.address.kind()) return false;
  return addr.match(cidr.address, cidr.prefix);
}

/** True for a range that matches every address of its family (0.0.0.0/0, ::/0). */
export function isAnySource(cidr: Cidr): boolean {
  return cidr.prefix === 0;
}

/**
 * A trunk CIDR as an operator typed it, checked strictly: `10.0.0.5/8` is refused (it names a
 * host, not a network: a typo for 10.0.0.5/32, or for 10.0.0.0/8?) with the network it would
 * have meant, and a range open to every address needs `allowAnySource`, since a trunk trusted
 * from anywhere lets anyone on the internet place calls on the account's key.
 */
export function parseTrunkCidr(input: string, opts: { allowAnySource: boolean }): Cidr {
  const cidr = parseCidr(input);
  const text = input.trim();
  if (text.includes('/')) {
    const given = ip().parse(text.split('/')[0]!);
    if (given.toString() !== cidr.address.toString()) {
      throw kalemError('KALEM_ERR_CIDR_HOST_BITS', text, cidr.text, `${given.toString()}/${given.kind() === 'ipv4' ? 32 : 128}`);
    }
  }
  if (isAnySource(cidr) && !opts.allowAnySource) throw kalemError('KALEM_ERR_CIDR_ANY_SOURCE', cidr.text);
  return cidr;
}
