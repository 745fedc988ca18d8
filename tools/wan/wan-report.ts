/**
 * The WAN chain benchmark's results: per link the asked and measured delay and rate, per pull the
 * timings beside the on-paper cost of per-hop authorization, and the two answers to the seeds'
 * warning (from which depth a cold chain costs more than pulling from DTR directly; how much a warm
 * pull varies with depth), as Markdown tables.
 */
import type { AuthEstimate, ServerSite, SiteName } from './chain-plan';

/** One connection's link, as asked and as measured through its relay before the pulls. */
export interface LinkMeasure {
  readonly from: SiteName;
  readonly to: ServerSite;
  readonly askedDelayMs: number;
  readonly askedMbit: number;
  readonly roundTripsMs: readonly number[];
  readonly medianRoundTripMs: number;
  readonly mbitPerSecond: number;
}

/** One timed pull. */
export interface RunRow {
  readonly route: string;
  /** Caches in the chain; 0 for the direct pull. */
  readonly depth: number;
  readonly chain: readonly string[];
  readonly state: 'direct' | 'cold' | 'warm';
  readonly totalMs: number;
  readonly megabytesPerSecond: number;
  readonly firstByteMs: number;
  readonly manifestMs: number;
  /** How many blobs came back with each X-Content-Cache result (or `origin`). */
  readonly results: Readonly<Record<string, number>>;
  readonly auth: AuthEstimate;
}

/** A cold pull "pays off" while it costs at most this much more than the direct pull. */
export const PAYS_OFF_TOLERANCE = 0.05;

const table = (header: readonly string[], rows: readonly (readonly string[])[]) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits) : '—';

/** The links, asked beside measured. */
export function linkTable(links: readonly LinkMeasure[]): string {
  return table(
    [
      'link (who connects → server)',
      'asked one-way (RTT) ms',
      'measured RTT ms (median)',
      'asked Mbit/s',
      'measured Mbit/s (download)',
    ],
    links.map((link) => [
      `${link.from} → ${link.to}`,
      `${link.askedDelayMs} (${link.askedDelayMs * 2})`,
      fixed(link.medianRoundTripMs, 1),
      String(link.askedMbit),
      fixed(link.mbitPerSecond, 1),
    ]),
  );
}

/** The pulls, with the on-paper per-hop authorization cost. */
export function runTable(rows: readonly RunRow[]): string {
  const direct = rows.find((row) => row.state === 'direct');
  return table(
    [
      'route',
      'depth',
      'chain',
      'cache',
      'total s',
      'MB/s',
      'first byte ms',
      'vs direct',
      '+auth RTT (paper) s',
    ],
    rows.map((row) => [
      row.route,
      String(row.depth),
      row.chain.length > 0 ? `${row.chain.join(' → ')} → DTR` : 'DTR',
      row.state,
      fixed(row.totalMs / 1000, 2),
      fixed(row.megabytesPerSecond, 1),
      fixed(row.firstByteMs, 0),
      direct ? `${fixed(row.totalMs / direct.totalMs, 2)}×` : '—',
      row.auth.highMs === 0
        ? '0'
        : `${fixed(row.auth.lowMs / 1000, 2)}–${fixed(row.auth.highMs / 1000, 2)}`,
    ]),
  );
}

/** The answers to the seeds' warning, from the rows. */
export interface Conclusions {
  /** The first depth whose cold pull costs more than the direct one (beyond the tolerance). */
  readonly coldCostsMoreFromDepth: number | undefined;
  /** The same with the least and the most per-hop authorization would add. */
  readonly withAuthLowFromDepth: number | undefined;
  readonly withAuthHighFromDepth: number | undefined;
  /** Warm pulls: the fastest and slowest total, and (slowest − fastest) / fastest. */
  readonly warmFastestMs: number;
  readonly warmSlowestMs: number;
  readonly warmSpread: number;
}

export function conclusionsOf(rows: readonly RunRow[]): Conclusions {
  const direct = rows.find((row) => row.state === 'direct');
  const cold = rows.filter((row) => row.state === 'cold').sort((a, b) => a.depth - b.depth);
  const firstDepth = (extra: (row: RunRow) => number) =>
    direct === undefined
      ? undefined
      : cold.find((row) => row.totalMs + extra(row) > direct.totalMs * (1 + PAYS_OFF_TOLERANCE))
          ?.depth;
  const warm = rows.filter((row) => row.state === 'warm').map((row) => row.totalMs);
  const fastest = Math.min(...warm);
  const slowest = Math.max(...warm);
  return {
    coldCostsMoreFromDepth: firstDepth(() => 0),
    withAuthLowFromDepth: firstDepth((row) => row.auth.lowMs),
    withAuthHighFromDepth: firstDepth((row) => row.auth.highMs),
    warmFastestMs: fastest,
    warmSlowestMs: slowest,
    warmSpread: warm.length > 0 ? (slowest - fastest) / fastest : Number.NaN,
  };
}

/** The conclusions as sentences. */
export function conclusionText(conclusions: Conclusions, maxDepth: number): string {
  const depth = (value: number | undefined) =>
    value === undefined ? `no depth up to ${maxDepth}` : `depth ${value}`;
  const tolerance = `${PAYS_OFF_TOLERANCE * 100}%`;
  return [
    `A cold pull through the chain costs more than pulling from DTR directly (by over ${tolerance}) from: ${depth(conclusions.coldCostsMoreFromDepth)} (ours: grants verified offline);`,
    `with one authorization round trip to DTR per blob per hop (on paper): from ${depth(conclusions.withAuthLowFromDepth)} at the least, ${depth(conclusions.withAuthHighFromDepth)} at the most.`,
    `A warm pull takes ${fixed(conclusions.warmFastestMs / 1000, 2)}–${fixed(conclusions.warmSlowestMs / 1000, 2)} s at every depth (spread ${fixed(conclusions.warmSpread * 100, 0)}%).`,
  ].join('\n');
}
