import { describe, expect, it } from 'vitest';
import { LINKS, SERVER_SITES } from './chain-plan';
import { linkAddresses, loopbackPlan, namespacesPlan, publicAddress } from './wan-plan';

describe('the namespaces plan', () => {
  const plan = namespacesPlan();

  it('puts each connection’s relay in the connecting site, on the server’s public address', () => {
    for (const relay of plan.relays) {
      const { from, to, link } = relay.connection;
      expect(relay.site).toBe(from);
      expect(`http://${relay.listen.host}:${relay.listen.port}`).toBe(plan.urlFrom(from, to));
      expect(relay.listen.host).toBe(publicAddress(to));
      // …forwarding over that link's veth to the server's end of it.
      const ends = linkAddresses(LINKS.indexOf(link));
      expect(relay.target.host).toBe(link.a === to ? ends.a : ends.b);
      expect(relay.target.port).toBe(relay.listen.port);
      // tbf shapes the rate; the relay adds the one-way delay only.
      expect(relay.link).toEqual({ delayMs: link.delayMs });
    }
  });

  it('names every server by one URL wherever it is reached from', () => {
    expect(plan.urlFrom('office', 'los-angeles')).toBe(plan.urlFrom('headquarters', 'los-angeles'));
    expect(plan.urlFrom('office', 'headquarters')).toBe(plan.originUrl('los-angeles'));
  });

  it('refuses a connection the benchmark does not make (there is no relay for it)', () => {
    expect(() => plan.urlFrom('office', 'san-francisco')).toThrow(/no connection/);
  });
});

describe('the loopback plan', () => {
  const plan = loopbackPlan();

  it('gives each connection a relay of its own that delays and shapes', () => {
    const listens = plan.relays.map((relay) => `${relay.listen.host}:${relay.listen.port}`);
    expect(new Set(listens).size).toBe(listens.length);
    for (const relay of plan.relays) {
      const { from, to, link } = relay.connection;
      expect(`http://${relay.listen.host}:${relay.listen.port}`).toBe(plan.urlFrom(from, to));
      expect(relay.target).toEqual(plan.localAddress(to));
      expect(relay.link).toEqual({ delayMs: link.delayMs, bitsPerSecond: link.mbit * 1e6 });
    }
  });

  it('keeps the servers and relays on loopback addresses apart', () => {
    const servers = SERVER_SITES.map((site) => plan.localAddress(site).host);
    expect(new Set(servers).size).toBe(servers.length);
    for (const relay of plan.relays) expect(servers).not.toContain(relay.listen.host);
    for (const host of [...servers, ...plan.relays.map((relay) => relay.listen.host)])
      expect(host).toMatch(/^127\.0\.0\.2\d\d$/);
  });

  it('fills los-angeles at depth 1 through its own link to DTR', () => {
    expect(plan.originUrl('los-angeles')).toBe(plan.urlFrom('los-angeles', 'headquarters'));
  });
});
