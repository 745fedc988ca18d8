import { CACHE_RESULTS, type CacheResult, formatCacheRoute } from '@dtr-cache/registry-protocol';
import type { PullTiming } from '@dtr-cache/pull-timer';
import type { RouteResult } from './measure';

/** How many blobs of a pull each answer had: the caches' results, and `origin` (DTR itself). */
export type BlobCounts = Record<CacheResult | 'origin', number>;

/** What a run measured: the JSON document's head. */
export interface RunInfo {
  readonly dtr: string;
  readonly user: string;
  readonly image: string;
  readonly platform: string;
  readonly concurrency: number;
  readonly startedAt: string;
}

/** The fastest route: by its warm pull's total where it has one, else its only pull's. */
export interface Fastest {
  readonly name: string;
  readonly route: string;
  readonly pass: string;
  readonly totalMs: number;
  readonly megabytesPerSecond: number;
}

const COUNT_KEYS = [...CACHE_RESULTS, 'origin'] as const;

/** Blobs of `timing` per result. */
export function countBlobs(timing: PullTiming): BlobCounts {
  const counts = Object.fromEntries(COUNT_KEYS.map((key) => [key, 0])) as BlobCounts;
  for (const blob of timing.blobs) counts[blob.result] += 1;
  return counts;
}

/** The fastest route that completed, or null when none did. */
export function fastestRoute(results: readonly RouteResult[]): Fastest | null {
  let fastest: Fastest | null = null;
  for (const result of results) {
    const last = result.pulls.at(-1);
    if (result.error !== null || !last) continue;
    if (fastest === null || last.timing.totalMs < fastest.totalMs)
      fastest = {
        name: result.route.name,
        route: last.timing.route,
        pass: last.pass,
        totalMs: last.timing.totalMs,
        megabytesPerSecond: last.timing.megabytesPerSecond,
      };
  }
  return fastest;
}

/**
 * The JSON document `--json` writes (docs/pull-times.md describes it): the run, each route with
 * its pulls (the library's PullTiming plus `pass` and `counts`) and error, and the fastest route.
 */
export function reportJson(info: RunInfo, results: readonly RouteResult[]) {
  return {
    ...info,
    routes: results.map((result) => ({
      name: result.route.name,
      route: formatCacheRoute(result.route.route),
      cache: result.route.cache,
      member: result.route.member,
      pulls: result.pulls.map((pull) => ({
        pass: pull.pass,
        counts: countBlobs(pull.timing),
        ...pull.timing,
      })),
      error: result.error,
    })),
    fastest: fastestRoute(results),
    failed: results.filter((result) => result.error !== null).length,
  };
}

const HEADINGS = ['route', 'pass', 'total s', 'MB/s', 'first byte ms', ...COUNT_KEYS] as const;

/** The table: one row per pull, a row per failed route, then the fastest route. */
export function reportTable(results: readonly RouteResult[]): string {
  const rows: string[][] = [];
  for (const result of results) {
    for (const pull of result.pulls) {
      const counts = countBlobs(pull.timing);
      rows.push([
        result.route.name,
        pull.pass,
        (pull.timing.totalMs / 1000).toFixed(3),
        pull.timing.megabytesPerSecond.toFixed(1),
        pull.timing.firstByteMs.toFixed(1),
        ...COUNT_KEYS.map((key) => String(counts[key])),
      ]);
    }
    if (result.error) rows.push([result.route.name, `failed: ${result.error.failure}`]);
  }
  const widths = HEADINGS.map((heading, column) =>
    Math.max(
      heading.length,
      ...rows.map((row) => (row.length > 2 ? (row[column] ?? '').length : 0)),
    ),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column < 2 && cells.length > 2
          ? cell.padEnd(widths[column] ?? 0)
          : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const failedLine = (cells: readonly string[]) =>
    `${(cells[0] ?? '').padEnd(widths[0] ?? 0)}  ${cells[1] ?? ''}`;
  const fastest = fastestRoute(results);
  return [
    line(HEADINGS),
    ...rows.map((row) => (row.length > 2 ? line(row) : failedLine(row))),
    fastest
      ? `fastest: ${fastest.name} (${fastest.pass}, ${(fastest.totalMs / 1000).toFixed(3)} s, ${fastest.megabytesPerSecond.toFixed(1)} MB/s)`
      : 'fastest: none (no route completed)',
  ].join('\n');
}
