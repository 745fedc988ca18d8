/**
 * The WAN chain benchmark's geography: the sites (the office, headquarters with DTR, and the
 * caches los-angeles, hop-1, hop-2 and san-francisco), the links between them with their asked
 * one-way delays and rates, the cache chain of each depth, and the on-paper cost of one
 * authorization round trip to DTR per blob per hop. Pure data and arithmetic: the network and the
 * processes are set up elsewhere (namespaces.ts, wan-plan.ts).
 */

/** A place with a network of its own. `office` runs the client only; the others run a server. */
export type SiteName =
  'office' | 'headquarters' | 'los-angeles' | 'hop-1' | 'hop-2' | 'san-francisco';

/** A site that runs a server (DTR at headquarters, a content cache elsewhere). */
export type ServerSite = Exclude<SiteName, 'office'>;

export interface Site {
  readonly name: SiteName;
  /** Short name, for network namespaces and interfaces (at most 6 characters). */
  readonly short: string;
  /** 1-based number, for the site's addresses. */
  readonly number: number;
}

export const SITES: readonly Site[] = [
  { name: 'headquarters', short: 'hq', number: 1 },
  { name: 'los-angeles', short: 'la', number: 2 },
  { name: 'san-francisco', short: 'sf', number: 3 },
  { name: 'hop-1', short: 'hop1', number: 4 },
  { name: 'hop-2', short: 'hop2', number: 5 },
  { name: 'office', short: 'office', number: 6 },
];

export const SERVER_SITES: readonly ServerSite[] = SITES.map((site) => site.name).filter(
  (name): name is ServerSite => name !== 'office',
);

/** The site's entry in {@link SITES}. */
export function siteOf(name: SiteName): Site {
  const site = SITES.find((each) => each.name === name);
  if (!site) throw new Error(`unknown site ${name}`);
  return site;
}

/** The port the site's server listens on: one of its own, 5000 + the site's number. */
export function portOf(site: ServerSite): number {
  return 5000 + siteOf(site).number;
}

/** A symmetric link: the same one-way delay and rate in each direction. */
export interface LinkSpec {
  readonly a: SiteName;
  readonly b: SiteName;
  /** One-way delay, ms. */
  readonly delayMs: number;
  /** Rate in each direction, Mbit/s (10^6 bits). */
  readonly mbit: number;
}

/**
 * The asked rate of a link: 100 Mbit/s on links to headquarters, 500 Mbit/s in the office (the
 * client to los-angeles), 200 Mbit/s between caches.
 */
export function rateOf(a: SiteName, b: SiteName): number {
  if (a === 'headquarters' || b === 'headquarters') return 100;
  if (a === 'office' || b === 'office') return 500;
  return 200;
}

const link = (a: SiteName, b: SiteName, delayMs: number): LinkSpec => ({
  a,
  b,
  delayMs,
  mbit: rateOf(a, b),
});

/**
 * Every link. The office is in Los Angeles: its link to headquarters (manifests, redirects, and
 * the direct pull) and the los-angeles cache's own link to headquarters (its upstream at depth 1)
 * are both 40 ms. The hops a deeper chain inserts between los-angeles and san-francisco are 5 ms
 * apart: each cache-to-cache link of such a chain is 5 ms.
 */
export const LINKS: readonly LinkSpec[] = [
  link('office', 'los-angeles', 1),
  link('office', 'headquarters', 40),
  link('los-angeles', 'headquarters', 40),
  link('san-francisco', 'headquarters', 30),
  link('los-angeles', 'san-francisco', 10),
  link('los-angeles', 'hop-1', 5),
  link('hop-1', 'san-francisco', 5),
  link('hop-1', 'hop-2', 5),
  link('hop-2', 'san-francisco', 5),
];

const findLink = (from: SiteName, to: SiteName) =>
  LINKS.find((each) => (each.a === from && each.b === to) || (each.a === to && each.b === from));

/** The link between two sites. @throws Error if there is none. */
export function linkBetween(from: SiteName, to: SiteName): LinkSpec {
  const found = findLink(from, to);
  if (!found) throw new Error(`no link between ${from} and ${to}`);
  return found;
}

export const DEPTHS = [1, 2, 3, 4] as const;
export type Depth = (typeof DEPTHS)[number];

/**
 * The caches of a chain, from the one the client pulls through (los-angeles) to the one that
 * fills from DTR. Depth = the number of caches: 1 is los-angeles filling from DTR itself, 2 the
 * seeds' topology (los-angeles → san-francisco → DTR), 3 and 4 insert hop-1 (and hop-2).
 */
export function chainOf(depth: Depth): ServerSite[] {
  const hops: ServerSite[] = depth >= 3 ? ['hop-1'] : [];
  if (depth === 4) hops.push('hop-2');
  return depth === 1 ? ['los-angeles'] : ['los-angeles', ...hops, 'san-francisco'];
}

/** Where `site` fills from in `chain`: the next cache, or headquarters (DTR) for the last. */
export function upstreamOf(chain: readonly ServerSite[], site: ServerSite): ServerSite {
  const index = chain.indexOf(site);
  if (index === -1) throw new Error(`${site} is not in the chain ${chain.join(' → ')}`);
  return chain[index + 1] ?? 'headquarters';
}

/** A site opening connections to another's server: each crosses exactly one link. */
export interface Connection {
  readonly from: SiteName;
  readonly to: ServerSite;
  readonly link: LinkSpec;
}

/**
 * Every connection the benchmark makes: the client to DTR and to los-angeles, DTR to los-angeles
 * (its health checks), and each cache of each chain to its upstream.
 */
export function connections(): Connection[] {
  const pairs: Array<[SiteName, ServerSite]> = [
    ['office', 'headquarters'],
    ['office', 'los-angeles'],
    ['headquarters', 'los-angeles'],
  ];
  for (const depth of DEPTHS) {
    const chain = chainOf(depth);
    for (const site of chain) pairs.push([site, upstreamOf(chain, site)]);
  }
  const unique = pairs.filter(
    ([from, to], index) => pairs.findIndex(([f, t]) => f === from && t === to) === index,
  );
  return unique.map(([from, to]) => ({ from, to, link: linkBetween(from, to) }));
}

/**
 * A site's round trip to headquarters, as a DTR 2.x cache asking DTR to authorize a request would
 * make it: over its own link to headquarters when it has one (los-angeles, san-francisco), else
 * along its chain (a hop: through its upstream). `rttMs` gives a connection's measured round trip.
 */
export function roundTripToHeadquartersMs(
  chain: readonly ServerSite[],
  site: ServerSite,
  rttMs: (from: SiteName, to: ServerSite) => number,
): number {
  if (findLink(site, 'headquarters')) return rttMs(site, 'headquarters');
  const upstream = upstreamOf(chain, site);
  return rttMs(site, upstream) + roundTripToHeadquartersMs(chain, upstream, rttMs);
}

/** What authorizing each blob request at DTR, at every hop it reaches, would add to a pull. */
export interface AuthEstimate {
  /** The sum of the round trips to headquarters of the hops one blob request reaches, ms. */
  readonly perBlobMs: number;
  /** Every blob's authorizations one after another (blobs × per blob), ms. */
  readonly serialMs: number;
  /** The least a pull waits longer: the first blob's authorizations (no byte moves before). */
  readonly lowMs: number;
  /**
   * The most: each of the `concurrency` downloads takes its blobs one after another, and waits
   * for every authorization of each, so the pull waits ceil(blobs / concurrency) × per blob.
   */
  readonly highMs: number;
}

/**
 * The on-paper cost of one authorization round trip to DTR per blob per hop, for a pull of
 * `blobs` blobs `concurrency` at a time whose requests reach the hops with `roundTripsMs` (a cold
 * pull: every cache of the chain, one after another, as each misses; a warm pull: the first cache
 * only; a direct pull: none).
 */
export function authEstimate(
  blobs: number,
  concurrency: number,
  roundTripsMs: readonly number[],
): AuthEstimate {
  const perBlobMs = roundTripsMs.reduce((sum, each) => sum + each, 0);
  return {
    perBlobMs,
    serialMs: blobs * perBlobMs,
    lowMs: blobs > 0 ? perBlobMs : 0,
    highMs: Math.ceil(blobs / Math.max(1, concurrency)) * perBlobMs,
  };
}
