import { describe, expect, it } from 'vitest';
import { AddressRanges, formatCidr, normalizeAddress, parseCidr } from './address-ranges';

describe('normalizeAddress', () => {
  it('writes IPv4-mapped IPv6 as IPv4, IPv6 in lower case, and drops zones', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeAddress(' 127.0.0.1 ')).toBe('127.0.0.1');
  });

  it('refuses what is not an address', () => {
    for (const text of ['', 'localhost', '1.2.3', '1.2.3.256', '::g', '10.0.0.0/8'])
      expect(normalizeAddress(text)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('parses ranges of both families and single addresses', () => {
    expect(parseCidr('10.20.0.0/16')).toEqual({ address: '10.20.0.0', prefix: 16, family: 'ipv4' });
    expect(parseCidr('2001:db8:20::/48')).toEqual({
      address: '2001:db8:20::',
      prefix: 48,
      family: 'ipv6',
    });
    expect(formatCidr(parseCidr('192.0.2.7'))).toBe('192.0.2.7/32');
    expect(formatCidr(parseCidr('::1'))).toBe('::1/128');
    expect(formatCidr(parseCidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });

  it('refuses bad prefixes, host bits and non-addresses with a reason', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length must be 0 to 32/);
    expect(() => parseCidr('2001:db8::/129')).toThrow(/0 to 128/);
    expect(() => parseCidr('10.0.0.0/-1')).toThrow(/prefix length/);
    expect(() => parseCidr('10.0.0.0/')).toThrow(/prefix length/);
    expect(() => parseCidr('10.1.2.3/8')).toThrow(
      /host bits set \(the network is 10\.0\.0\.0\/8\)/,
    );
    expect(() => parseCidr('2001:db8::1/64')).toThrow(/host bits/);
    expect(() => parseCidr('example.com/8')).toThrow(/not an IP address/);
    expect(() => parseCidr('fe80::%eth0/10')).toThrow(/not an IP address/);
  });
});

describe('AddressRanges', () => {
  const ranges = AddressRanges.parse(['10.20.0.0/16', '2001:db8:20::/48', '192.0.2.7']);

  it('matches addresses in any range, IPv4-mapped ones included', () => {
    expect(ranges.contains('10.20.255.1')).toBe(true);
    expect(ranges.contains('::ffff:10.20.0.9')).toBe(true);
    expect(ranges.contains('2001:db8:20:ffff::1')).toBe(true);
    expect(ranges.contains('192.0.2.7')).toBe(true);
  });

  it('does not match other addresses, or text that is no address', () => {
    expect(ranges.contains('10.21.0.1')).toBe(false);
    expect(ranges.contains('2001:db8:21::1')).toBe(false);
    expect(ranges.contains('192.0.2.8')).toBe(false);
    expect(ranges.contains('not-an-address')).toBe(false);
    expect(new AddressRanges([]).contains('10.20.0.1')).toBe(false);
  });
});
