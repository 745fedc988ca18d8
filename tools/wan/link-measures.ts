/**
 * Measuring every connection of a WAN plan through its relay before the pulls: a probe server
 * where each server will listen (before it does), then from each connecting site its connections
 * one after another (round trips, then a download), in that site.
 */
import { SERVER_SITES, type SiteName } from './chain-plan';
import { median } from './link-probe';
import type { WanPlan } from './wan-plan';
import type { RunProcesses, StartSpec } from './wan-processes';
import type { LinkMeasure } from './wan-report';

/** An agent command as a process of `site` (its namespace in that mode), named `name`. */
export type AgentSpec = (name: string, site: SiteName, command: string, body: unknown) => StartSpec;

const hostPortOf = (url: string) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
};

/**
 * Measures each connection: `samples` one-byte round trips and a download of `bytes`.
 * @throws Error with a probe's log if one fails (the probe servers are left to the run's tear-down).
 */
export async function measureLinks(
  plan: WanPlan,
  processes: RunProcesses,
  spec: AgentSpec,
  probe: { readonly samples: number; readonly bytes: number },
): Promise<LinkMeasure[]> {
  for (const site of SERVER_SITES)
    await processes.startReady(
      spec(`probe-server-${site}`, site, 'probe-server', plan.localAddress(site)),
    );
  const links: LinkMeasure[] = [];
  for (const from of new Set(plan.connections.map((connection) => connection.from))) {
    const mine = plan.connections.filter((connection) => connection.from === from);
    const measured = (await processes.runJson(
      spec(`probe-${from}`, from, 'probe', {
        targets: mine.map((connection) => hostPortOf(plan.urlFrom(from, connection.to))),
        samples: probe.samples,
        bytes: probe.bytes,
      }),
      5 * 60_000,
    )) as Array<{ roundTripsMs: number[]; mbitPerSecond: number }>;
    for (const [index, connection] of mine.entries()) {
      const result = measured[index];
      if (!result) throw new Error(`probe from ${from}: no result for ${connection.to}`);
      links.push({
        from,
        to: connection.to,
        askedDelayMs: connection.link.delayMs,
        askedMbit: connection.link.mbit,
        roundTripsMs: result.roundTripsMs,
        medianRoundTripMs: median(result.roundTripsMs),
        mbitPerSecond: result.mbitPerSecond,
      });
    }
  }
  await Promise.all(SERVER_SITES.map((site) => processes.stop(`probe-server-${site}`)));
  return links;
}
