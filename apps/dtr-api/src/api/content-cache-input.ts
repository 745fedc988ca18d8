import { parseHttpUrl } from '@dtr-cache/config';
import { formatCidr, parseCidr } from '@dtr-cache/network';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { CacheAddressPolicy } from '../caches/cache-address-policy';
import { MAX_CACHE_MEMBERS, MAX_CACHE_NETWORKS } from '../store/content-cache-store';

/**
 * An absolute http(s) URL without credentials, query or fragment, normalized without a trailing
 * slash, whose host the address policy allows (no link-local or cloud metadata address).
 * @throws RegistryError `INVALID_REQUEST` naming the field (`host`, `hosts[2]`).
 */
export function cacheHost(addresses: CacheAddressPolicy, value: unknown, field = 'host'): string {
  try {
    const url = parseHttpUrl(value);
    addresses.checkHost(url);
    return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
  } catch (error) {
    throw new RegistryError('INVALID_REQUEST', `${field}: ${(error as Error).message}`, {
      detail: { [field]: value ?? null },
    });
  }
}

/**
 * A cache group's members from a request: `hosts` (1 to 32 URLs, each checked as `host` is, none
 * twice) or, the documented form, one `host`. Giving both is an error.
 * @throws RegistryError `INVALID_REQUEST` saying which member is wrong.
 */
export function cacheHosts(addresses: CacheAddressPolicy, body: Record<string, unknown>): string[] {
  const { host, hosts } = body;
  if (host !== undefined && hosts !== undefined)
    throw new RegistryError('INVALID_REQUEST', 'give either host or hosts, not both');
  if (hosts === undefined) return [cacheHost(addresses, host)];
  if (!Array.isArray(hosts) || hosts.length === 0 || hosts.length > MAX_CACHE_MEMBERS)
    throw new RegistryError(
      'INVALID_REQUEST',
      `hosts must be a list of 1 to ${MAX_CACHE_MEMBERS} URLs`,
      { detail: { hosts: Array.isArray(hosts) ? hosts.length : typeof hosts } },
    );
  const normalized = hosts.map((value, index) => cacheHost(addresses, value, `hosts[${index}]`));
  const twice = normalized.find((value, index) => normalized.indexOf(value) !== index);
  if (twice !== undefined)
    throw new RegistryError('INVALID_REQUEST', 'hosts: a member is listed twice', {
      detail: { host: twice },
    });
  return normalized;
}

/**
 * Client networks from a request: a list of up to 256 CIDR ranges (`10.20.0.0/16`,
 * `2001:db8:20::/48`; an address alone is a /32 or /128), normalized, without repeats.
 * @throws RegistryError `INVALID_REQUEST` naming the bad entry.
 */
export function cacheNetworks(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_CACHE_NETWORKS)
    throw new RegistryError(
      'INVALID_REQUEST',
      `networks must be a list of at most ${MAX_CACHE_NETWORKS} CIDR ranges`,
      { detail: { networks: Array.isArray(value) ? value.length : typeof value } },
    );
  const networks = value.map((entry, index) => {
    try {
      if (typeof entry !== 'string') throw new Error('is not a string');
      return formatCidr(parseCidr(entry));
    } catch (error) {
      throw new RegistryError(
        'INVALID_REQUEST',
        `networks[${index}]: ${(error as Error).message}`,
        {
          detail: { network: entry ?? null },
        },
      );
    }
  });
  return [...new Set(networks)];
}
