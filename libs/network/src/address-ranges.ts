import { BlockList, isIP } from 'node:net';

/** An IP address family. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** A CIDR range: a network address and a prefix length. */
export interface Cidr {
  /** The address as written (normalized: lower case, IPv4-mapped IPv6 written as IPv4). */
  readonly address: string;
  readonly prefix: number;
  readonly family: AddressFamily;
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * An IP address in one canonical text form, or undefined if `text` is not an address: IPv6 in
 * lower case with IPv4-mapped addresses (`::ffff:10.0.0.1`) written as IPv4, so a dual-stack
 * socket's view of an IPv4 client compares equal to the IPv4 text. A zone (`fe80::1%eth0`) is
 * dropped.
 */
export function normalizeAddress(text: string): string | undefined {
  const trimmed = text.trim();
  const withoutZone = trimmed.includes('%') ? trimmed.slice(0, trimmed.indexOf('%')) : trimmed;
  const mapped = IPV4_MAPPED.exec(withoutZone);
  if (mapped && isIP(mapped[1] as string) === 4) return mapped[1];
  const version = isIP(withoutZone);
  if (version === 4) return withoutZone;
  if (version === 6) return withoutZone.toLowerCase();
  return undefined;
}

/** The family of a normalized address. */
export function familyOf(address: string): AddressFamily {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6';
}

/**
 * Parses a CIDR range (`10.20.0.0/16`, `2001:db8:20::/48`) or a single address (a /32 or /128).
 * @throws Error saying what is wrong: not an address, a prefix out of range, or host bits set.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const address = normalizeAddress(addressText);
  if (address === undefined || addressText.includes('%'))
    throw new Error(`${JSON.stringify(text)} is not an IP address or CIDR range`);
  const family = familyOf(address);
  const bits = family === 'ipv4' ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits)
    throw new Error(`${JSON.stringify(text)}: the prefix length must be 0 to ${bits}`);
  const prefix = Number(prefixText);
  // The network address of the range must be the written one: "10.1.2.3/8" is a typo, not 10/8.
  if (!sameAddress(networkAddress(address, prefix, family), address, family))
    throw new Error(
      `${JSON.stringify(text)} has host bits set (the network is ${networkAddress(address, prefix, family)}/${prefix})`,
    );
  return { address, prefix, family };
}

/** `cidr` as text: `address/prefix`. */
export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

function toBigInt(address: string, family: AddressFamily): bigint {
  if (family === 'ipv4')
    return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  let groups = head === '' ? [] : head.split(':');
  let rest = tail === '' ? [] : tail.split(':');
  const last = (address.includes('::') ? rest : groups).at(-1) ?? '';
  if (last.includes('.')) {
    // An embedded IPv4 tail (::ffff:0:1.2.3.4 forms other than the mapped one) is two groups.
    const v4 = toBigInt(last, 'ipv4');
    const pair = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    if (address.includes('::')) rest = [...rest.slice(0, -1), ...pair];
    else groups = [...groups.slice(0, -1), ...pair];
  }
  const missing = 8 - groups.length - rest.length;
  const all = address.includes('::')
    ? [...groups, ...Array<string>(missing).fill('0'), ...rest]
    : groups;
  return all.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function fromBigInt(value: bigint, family: AddressFamily): string {
  if (family === 'ipv4')
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}

/** The network address of `address` under a `prefix`-bit mask, as text (IPv6 not compressed). */
export function networkAddress(address: string, prefix: number, family: AddressFamily): string {
  const bits = family === 'ipv4' ? 32n : 128n;
  const hostBits = bits - BigInt(prefix);
  const value = toBigInt(address, family);
  return fromBigInt((value >> hostBits) << hostBits, family);
}

function sameAddress(a: string, b: string, family: AddressFamily): boolean {
  return toBigInt(a, family) === toBigInt(b, family);
}

/**
 * A set of CIDR ranges to test addresses against (both families; an IPv4-mapped IPv6 address
 * matches the IPv4 ranges).
 */
export class AddressRanges {
  private readonly list = new BlockList();

  constructor(readonly ranges: readonly Cidr[]) {
    for (const range of ranges) this.list.addSubnet(range.address, range.prefix, range.family);
  }

  /** Parses each of `texts` with {@link parseCidr}. @throws Error for the first bad one. */
  static parse(texts: readonly string[]): AddressRanges {
    return new AddressRanges(texts.map(parseCidr));
  }

  /** True if `address` (any text form) is in one of the ranges; false for a non-address. */
  contains(address: string): boolean {
    const normalized = normalizeAddress(address);
    if (normalized === undefined) return false;
    return this.list.check(normalized, familyOf(normalized));
  }
}
