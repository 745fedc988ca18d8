import { type AddressRanges, networkAddress, normalizeAddress } from './address-ranges';

/**
 * The address of the client behind a request: the socket's peer, unless that peer is a trusted
 * proxy; then `X-Forwarded-For` is read from the right (the entry the trusted proxy appended)
 * leftwards, skipping further trusted proxies, and the first address that is not one is the client.
 * Entries left of it were written by the client itself and are never believed. A malformed entry
 * ends the walk at the last address known to be good. With no trusted proxy configured,
 * `X-Forwarded-For` is ignored entirely.
 *
 * @param socketAddress the TCP peer (`socket.remoteAddress`); undefined for a closed socket.
 * @param forwardedFor the `X-Forwarded-For` header (several headers joined with commas).
 * @returns a normalized address (see {@link normalizeAddress}), or `unknown`.
 */
export function clientAddressOf(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: AddressRanges,
): string {
  const peer = socketAddress === undefined ? undefined : normalizeAddress(socketAddress);
  if (peer === undefined) return 'unknown';
  if (forwardedFor === undefined || !trustedProxies.contains(peer)) return peer;
  let client = peer;
  const hops = forwardedFor.split(',');
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = normalizeAddress(hops[index] as string);
    if (hop === undefined) break;
    client = hop;
    if (!trustedProxies.contains(hop)) break;
  }
  return client;
}

/**
 * The key under which an address is counted for per-client limits: the address itself for IPv4,
 * its /64 network for IPv6 (one host usually holds a whole /64, so counting single IPv6 addresses
 * would let one client spread over millions of keys).
 */
export function clientKeyOf(address: string): string {
  const normalized = normalizeAddress(address);
  if (normalized === undefined || !normalized.includes(':')) return normalized ?? address;
  return `${networkAddress(normalized, 64, 'ipv6')}/64`;
}
