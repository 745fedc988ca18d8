/**
 * Where everything of the WAN chain benchmark listens and how each site reaches each other, in
 * either mode:
 *
 * - `namespaces`: each site is a network namespace. Sites are joined by one veth pair per link
 *   (tbf shapes the rate at each end); a site's server listens on all its addresses on its own
 *   port. Every site knows every server by one public URL (`http://10.201.0.<site>:<port>`): in
 *   a site that connects to a server, that public address is held by a {@link DelayRelay} of that
 *   site (on its loopback), which adds the link's one-way delay each way and forwards over the
 *   link's veth. So one URL works everywhere (DTR's redirects, the caches' upstreams) and every
 *   connection crosses exactly one relay and one shaped link. The benchmark itself reaches the
 *   servers over unshaped management veths (`controlUrl`), to set up and to watch, never to pull.
 * - `loopback` (no namespaces: not root, or `ip netns` refused): servers and relays on loopback
 *   addresses of this machine; each relay adds the delay and the rate, and each site reaches a
 *   server through the relay of its own connection, so URLs differ by who connects.
 */
import type { LinkProfile } from './link-shaper';
import {
  type Connection,
  connections,
  portOf,
  type ServerSite,
  siteOf,
  type SiteName,
  LINKS,
} from './chain-plan';

export type WanMode = 'namespaces' | 'loopback';

/** One relay: run in `site` (its namespace, in that mode), for one connection. */
export interface RelaySpec {
  readonly site: SiteName;
  readonly connection: Connection;
  readonly listen: { readonly host: string; readonly port: number };
  readonly target: { readonly host: string; readonly port: number };
  readonly link: LinkProfile;
}

export interface WanPlan {
  readonly mode: WanMode;
  readonly connections: readonly Connection[];
  readonly relays: readonly RelaySpec[];
  /** The URL by which `from` reaches `to`'s server (through the relay of that connection). */
  urlFrom(from: SiteName, to: ServerSite): string;
  /**
   * DTR as a cache at `site` names it (`originhost`): through its own connection when it fills
   * from DTR; a cache that fills from another cache never connects to DTR (its keys and blobs
   * come from its upstream), so any DTR URL does.
   */
  originUrl(site: ServerSite): string;
  /** The benchmark's own way to a server (unshaped, no relay), for set-up and watching. */
  controlUrl(site: ServerSite): string;
  /** The server's `http.addr`. */
  listenAddress(site: ServerSite): string;
  /** The server's `host:port` to reach it on its own machine (a probe server binds it too). */
  localAddress(site: ServerSite): { host: string; port: number };
}

/** The public address of a server site in namespaces mode (on its loopback, and its relays'). */
export const publicAddress = (site: ServerSite) => `10.201.0.${siteOf(site).number}`;

/** The two ends of link `index`'s veth pair (`a` side, `b` side), a /30 of their own. */
export const linkAddresses = (index: number) =>
  ({ a: `10.202.${index}.1`, b: `10.202.${index}.2` }) as const;

/** The management veth of a server site: the benchmark's end and the namespace's end, a /30. */
export const managementAddresses = (site: ServerSite) =>
  ({
    root: `10.203.${siteOf(site).number}.1`,
    site: `10.203.${siteOf(site).number}.2`,
  }) as const;

const connectionOf = (all: readonly Connection[], from: SiteName, to: ServerSite) => {
  const found = all.find((each) => each.from === from && each.to === to);
  if (!found) throw new Error(`the benchmark makes no connection from ${from} to ${to}`);
  return found;
};

/** The plan with one network namespace per site. */
export function namespacesPlan(): WanPlan {
  const all = connections();
  const relays = all.map((connection): RelaySpec => {
    const index = LINKS.indexOf(connection.link);
    const ends = linkAddresses(index);
    return {
      site: connection.from,
      connection,
      listen: { host: publicAddress(connection.to), port: portOf(connection.to) },
      target: {
        host: connection.link.a === connection.to ? ends.a : ends.b,
        port: portOf(connection.to),
      },
      // tbf shapes the rate: the relay only delays.
      link: { delayMs: connection.link.delayMs },
    };
  });
  return {
    mode: 'namespaces',
    connections: all,
    relays,
    urlFrom: (from, to) => {
      connectionOf(all, from, to);
      return `http://${publicAddress(to)}:${portOf(to)}`;
    },
    originUrl: () => `http://${publicAddress('headquarters')}:${portOf('headquarters')}`,
    controlUrl: (site) => `http://${managementAddresses(site).site}:${portOf(site)}`,
    listenAddress: (site) => `:${portOf(site)}`,
    localAddress: (site) => ({ host: '0.0.0.0', port: portOf(site) }),
  };
}

/** Loopback addresses of the fallback: servers on .201–.205, relays from .210 (unused elsewhere). */
const serverHost = (site: ServerSite) => `127.0.0.${200 + siteOf(site).number}`;
const relayHost = (index: number) => `127.0.0.${210 + index}`;

/** The plan without namespaces: everything on loopback, each relay delaying and shaping. */
export function loopbackPlan(): WanPlan {
  const all = connections();
  const relays = all.map((connection, index): RelaySpec => ({
    site: connection.from,
    connection,
    listen: { host: relayHost(index), port: portOf(connection.to) },
    target: { host: serverHost(connection.to), port: portOf(connection.to) },
    link: { delayMs: connection.link.delayMs, bitsPerSecond: connection.link.mbit * 1e6 },
  }));
  const urlFrom = (from: SiteName, to: ServerSite) => {
    const index = all.indexOf(connectionOf(all, from, to));
    return `http://${relayHost(index)}:${portOf(to)}`;
  };
  return {
    mode: 'loopback',
    connections: all,
    relays,
    urlFrom,
    originUrl: (site) =>
      all.some((each) => each.from === site && each.to === 'headquarters')
        ? urlFrom(site, 'headquarters')
        : `http://${serverHost('headquarters')}:${portOf('headquarters')}`,
    controlUrl: (site) => `http://${serverHost(site)}:${portOf(site)}`,
    listenAddress: (site) => `${serverHost(site)}:${portOf(site)}`,
    localAddress: (site) => ({ host: serverHost(site), port: portOf(site) }),
  };
}
