import { describe, expect, it } from 'vitest';
import { AddressRanges } from './address-ranges';
import { clientAddressOf, clientKeyOf } from './client-address';

const none = new AddressRanges([]);
const proxies = AddressRanges.parse(['10.0.0.0/8']);

describe('clientAddressOf', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddressOf('192.0.2.1', '203.0.113.9', none)).toBe('192.0.2.1');
    expect(clientAddressOf('::ffff:192.0.2.1', undefined, none)).toBe('192.0.2.1');
  });

  it('is the socket peer when the peer is not a trusted proxy', () => {
    expect(clientAddressOf('192.0.2.1', '203.0.113.9', proxies)).toBe('192.0.2.1');
  });

  it('walks X-Forwarded-For from the right past trusted proxies only', () => {
    expect(clientAddressOf('10.0.0.1', '203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(clientAddressOf('10.0.0.1', '198.51.100.1, 203.0.113.9, 10.0.0.2', proxies)).toBe(
      '203.0.113.9',
    );
    // The client's own claims (left of the first untrusted entry) are never believed.
    expect(clientAddressOf('10.0.0.1', '10.9.9.9, 203.0.113.9', proxies)).toBe('203.0.113.9');
  });

  it('stops at a malformed entry, keeping the last good address', () => {
    expect(clientAddressOf('10.0.0.1', '203.0.113.9, junk, 10.0.0.2', proxies)).toBe('10.0.0.2');
    expect(clientAddressOf('10.0.0.1', 'junk', proxies)).toBe('10.0.0.1');
  });

  it('says unknown for a socket without an address', () => {
    expect(clientAddressOf(undefined, '203.0.113.9', proxies)).toBe('unknown');
  });
});

describe('clientKeyOf', () => {
  it('counts IPv4 addresses alone and IPv6 addresses by their /64', () => {
    expect(clientKeyOf('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKeyOf('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKeyOf('2001:db8:1:2:3:4:5:6')).toBe(clientKeyOf('2001:db8:1:2::ffff'));
    expect(clientKeyOf('2001:db8:1:2::1')).not.toBe(clientKeyOf('2001:db8:1:3::1'));
    expect(clientKeyOf('2001:db8:1:2::1')).toBe('2001:db8:1:2:0:0:0:0/64');
  });
});
