import { describe, expect, it } from 'vitest';
import {
  authEstimate,
  chainOf,
  connections,
  DEPTHS,
  LINKS,
  linkBetween,
  portOf,
  rateOf,
  roundTripToHeadquartersMs,
  SERVER_SITES,
  SITES,
  upstreamOf,
} from './chain-plan';

describe('the WAN chain geography', () => {
  it('asks the delays of the issue: HQ–SF 30, SF–LA 10, office–HQ 40, client–LA 1, hops 5 apart', () => {
    expect(linkBetween('headquarters', 'san-francisco').delayMs).toBe(30);
    expect(linkBetween('san-francisco', 'los-angeles').delayMs).toBe(10);
    expect(linkBetween('office', 'headquarters').delayMs).toBe(40);
    expect(linkBetween('office', 'los-angeles').delayMs).toBe(1);
    // los-angeles filling from DTR itself (depth 1) uses the Los Angeles office's 40 ms.
    expect(linkBetween('los-angeles', 'headquarters').delayMs).toBe(40);
    for (const [a, b] of [
      ['los-angeles', 'hop-1'],
      ['hop-1', 'hop-2'],
      ['hop-1', 'san-francisco'],
      ['hop-2', 'san-francisco'],
    ] as const)
      expect(linkBetween(a, b).delayMs).toBe(5);
  });

  it('rates: 100 Mbit/s to headquarters, 200 between caches, 500 in the office', () => {
    expect(rateOf('office', 'headquarters')).toBe(100);
    expect(rateOf('san-francisco', 'headquarters')).toBe(100);
    expect(rateOf('office', 'los-angeles')).toBe(500);
    expect(rateOf('hop-1', 'hop-2')).toBe(200);
    for (const link of LINKS) expect(link.mbit).toBe(rateOf(link.a, link.b));
  });

  it('depth is the number of caches; 2 is the seeds’ los-angeles → san-francisco', () => {
    expect(chainOf(1)).toEqual(['los-angeles']);
    expect(chainOf(2)).toEqual(['los-angeles', 'san-francisco']);
    expect(chainOf(3)).toEqual(['los-angeles', 'hop-1', 'san-francisco']);
    expect(chainOf(4)).toEqual(['los-angeles', 'hop-1', 'hop-2', 'san-francisco']);
    for (const depth of DEPTHS) {
      const chain = chainOf(depth);
      expect(chain).toHaveLength(depth);
      expect(upstreamOf(chain, chain[chain.length - 1] as 'los-angeles')).toBe('headquarters');
    }
  });

  it('every connection crosses one link, and each chain hop has one to its upstream', () => {
    const all = connections();
    expect(new Set(all.map((each) => `${each.from}>${each.to}`)).size).toBe(all.length);
    for (const depth of DEPTHS) {
      const chain = chainOf(depth);
      for (const site of chain)
        expect(all.some((each) => each.from === site && each.to === upstreamOf(chain, site))).toBe(
          true,
        );
    }
    expect(all.map((each) => `${each.from}>${each.to}`)).toEqual(
      expect.arrayContaining([
        'office>headquarters',
        'office>los-angeles',
        'headquarters>los-angeles',
      ]),
    );
  });

  it('gives each server a port and each site a short name of its own', () => {
    expect(new Set(SERVER_SITES.map(portOf)).size).toBe(SERVER_SITES.length);
    expect(new Set(SITES.map((site) => site.short)).size).toBe(SITES.length);
    for (const site of SITES) expect(site.short.length).toBeLessThanOrEqual(6);
  });
});

describe('the on-paper cost of authorizing at DTR per blob per hop', () => {
  /** Round trips as asked (2 × the one-way delay). */
  const asked = (from: string, to: string) =>
    2 * linkBetween(from as 'office', to as 'headquarters').delayMs;

  it('takes a hop’s own link to headquarters, else its way along the chain', () => {
    const chain = chainOf(4);
    expect(roundTripToHeadquartersMs(chain, 'los-angeles', asked)).toBe(80);
    expect(roundTripToHeadquartersMs(chain, 'san-francisco', asked)).toBe(60);
    expect(roundTripToHeadquartersMs(chain, 'hop-2', asked)).toBe(10 + 60);
    expect(roundTripToHeadquartersMs(chain, 'hop-1', asked)).toBe(10 + 10 + 60);
  });

  it('adds from one per-blob sum (the first blob) up to ceil(blobs / concurrency) of them', () => {
    const estimate = authEstimate(11, 3, [80, 60]);
    expect(estimate).toEqual({ perBlobMs: 140, serialMs: 1540, lowMs: 140, highMs: 4 * 140 });
    expect(authEstimate(11, 1, [80]).highMs).toBe(880);
    expect(authEstimate(11, 3, [])).toEqual({ perBlobMs: 0, serialMs: 0, lowMs: 0, highMs: 0 });
  });
});
