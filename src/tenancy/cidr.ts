import ipaddr from 'ipaddr.js';
import { kalemError } from '../core/errors.js';

/**
 * Trunk source CIDRs, IPv4 and IPv6. A bare address is a /32 or /128. Stored in canonical text
 * form so duplicates compare equal; IPv4-mapped IPv6 sources match IPv4 ranges.
 */
export interface Cidr {
  readonly text: string;
  readonly address: ipaddr.IPv4 | ipaddr.IPv6;
  readonly prefix: number;
}

export function parseCidr(input: string): Cidr {
  const text = input.trim();
  try {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
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
  if (!ipaddr.isValid(source)) return false;
  let addr = ipaddr.parse(source);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (addr.kind() !== cidr.address.kind()) return false;
  return addr.match(cidr.address, cidr.prefix);
}
