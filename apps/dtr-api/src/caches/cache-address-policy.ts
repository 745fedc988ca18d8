import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { AddressRanges, type Cidr, normalizeAddress } from '@dtr-cache/network';

/**
 * Addresses a content cache host may not be or resolve to unless an administrator allows them
 * (`contentcaches.allowednetworks`): DTR connects to registered hosts for health checks, so a host
 * there would let whoever registers caches make DTR reach into the machine's own surroundings —
 * link-local (where cloud metadata services answer), other cloud metadata endpoints, unspecified,
 * broadcast, reserved and multicast addresses. Private networks and loopback stay allowed: that is
 * where caches run.
 */
export const REFUSED_CACHE_NETWORKS: readonly string[] = [
  '0.0.0.0/8',
  '169.254.0.0/16',
  '100.100.100.200/32',
  '168.63.129.16/32',
  '192.0.0.192/32',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  'fe80::/10',
  'fd00:ec2::254/128',
  'ff00::/8',
];

/** Host names of cloud metadata services, refused whatever they resolve to here. */
export const REFUSED_CACHE_HOST_NAMES: readonly string[] = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
];

/** Why a cache host or address is refused, for the API and the logs. */
export class RefusedCacheAddress extends Error {
  readonly code = 'EREFUSEDADDRESS';
}

/**
 * Decides which hosts and addresses DTR may use for content caches: on the host text at
 * registration (an IP literal, a metadata host name), and on every address a name resolves to
 * when DTR connects ({@link lookup}, given to the HTTP client: the address checked is the address
 * connected to, so a name that changes its answer between check and use gains nothing).
 */
export class CacheAddressPolicy {
  private readonly refused = AddressRanges.parse(REFUSED_CACHE_NETWORKS);
  private readonly allowed: AddressRanges;

  /** @param resolve the resolver (the system's; tests give their own). */
  constructor(
    allowedNetworks: readonly Cidr[] = [],
    private readonly resolve: typeof dnsLookup = dnsLookup,
  ) {
    this.allowed = new AddressRanges(allowedNetworks);
  }

  /** True if DTR may connect to `address`. */
  allowsAddress(address: string): boolean {
    return !this.refused.contains(address) || this.allowed.contains(address);
  }

  /**
   * Checks a cache URL's host as written.
   * @throws RefusedCacheAddress saying why.
   */
  checkHost(url: URL): void {
    const host = url.hostname
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '')
      .toLowerCase();
    const address = normalizeAddress(host);
    if (address !== undefined) {
      if (!this.allowsAddress(address))
        throw new RefusedCacheAddress(
          `${address} is in a range refused for content caches (link-local, cloud metadata, multicast or reserved); an administrator can allow it with contentcaches.allowednetworks`,
        );
      return;
    }
    if (REFUSED_CACHE_HOST_NAMES.includes(host))
      throw new RefusedCacheAddress(`${host} names a cloud metadata service`);
  }

  /** A DNS lookup for the HTTP client that keeps only allowed addresses (none: an error). */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const usable = (addresses as LookupAddress[]).filter(({ address }) =>
        this.allowsAddress(address),
      );
      if (usable.length === 0)
        return callback(
          new RefusedCacheAddress(`${hostname} resolves only to refused addresses`),
          '',
          0,
        );
      if (options.all) return callback(null, usable);
      const first = usable[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}
