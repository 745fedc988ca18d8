/**
 * The pulls of the WAN chain benchmark: the direct one, then per depth a cold pull through a chain
 * started on empty stores and a warm one once every fill is stored, each in the office (an agent
 * calling `timePull`), each turned into a {@link RunRow} with its on-paper authorization cost. A
 * depth (or the direct pull) whose pull fails is measured once more, on new stores; the failure is
 * kept for the report.
 */
import type { PullTiming } from '@dtr-cache/pull-timer';
import { type CacheRoute, formatCacheRoute } from '@dtr-cache/registry-protocol';
import {
  authEstimate,
  chainOf,
  type Depth,
  roundTripToHeadquartersMs,
  type ServerSite,
  type SiteName,
} from './chain-plan';
import type { AgentSpec } from './link-measures';
import type { WanPlan } from './wan-plan';
import type { RunProcesses } from './wan-processes';
import type { RunRow } from './wan-report';
import { FIRST_CACHE, type PushedImage, USER, type WanServers } from './wan-servers';

/** A pull that ended in a PullError (the agent printed its failure). */
class PullFailed extends Error {}

/** What the pulls need from the run. */
export interface PullContext {
  readonly plan: WanPlan;
  readonly processes: RunProcesses;
  readonly servers: WanServers;
  readonly spec: AgentSpec;
  readonly image: PushedImage;
  readonly concurrency: number;
  /** A connection's measured round trip, ms. */
  readonly rttOf: (from: SiteName, to: ServerSite) => number;
  readonly log: (message: string) => void;
}

/** A measurement that failed and was taken once more. */
export interface Retry {
  readonly what: string;
  readonly error: string;
}

/** Runs the benchmark's pulls; `rows`, `pulls` (each one's timings) and `retries` fill as it goes. */
export class ChainPulls {
  readonly rows: RunRow[] = [];
  readonly pulls: PullTiming[] = [];
  readonly retries: Retry[] = [];
  private registered = false;

  constructor(private readonly context: PullContext) {}

  /** The direct pull, then each depth cold and warm. @throws Error if a measurement fails twice. */
  async run(depths: readonly Depth[]): Promise<void> {
    this.rows.push(
      await this.onceMoreIfAPullFails(
        'direct',
        async () => this.row(await this.pull({ kind: 'none' }, 'direct'), 'direct', [], []),
        async () => undefined,
      ),
    );
    for (const depth of depths) {
      const chain = chainOf(depth);
      const folder = `depth-${depth}`;
      this.rows.push(
        ...(await this.onceMoreIfAPullFails(
          `depth ${depth}`,
          () => this.coldThenWarm(chain, folder),
          () => this.context.servers.stopChain(chain, folder),
        )),
      );
    }
  }

  private async coldThenWarm(chain: readonly ServerSite[], folder: string): Promise<RunRow[]> {
    const { servers, log } = this.context;
    log(`${folder}: starting ${chain.join(' → ')} on empty stores`);
    await servers.startChain(chain, folder);
    if (!this.registered) await servers.registerFirstCache();
    this.registered = true;
    await servers.waitFirstCacheHealthy();
    const route: CacheRoute = { kind: 'cache', cache: FIRST_CACHE };
    const cold = this.row(await this.pull(route, `${folder}-cold`), 'cold', chain, chain);
    await servers.waitFillsStored(chain);
    const warm = this.row(await this.pull(route, `${folder}-warm`), 'warm', chain, [FIRST_CACHE]);
    await servers.stopChain(chain, folder);
    return [cold, warm];
  }

  private async onceMoreIfAPullFails<Result>(
    what: string,
    measure: () => Promise<Result>,
    reset: () => Promise<void>,
  ): Promise<Result> {
    try {
      return await measure();
    } catch (error) {
      if (!(error instanceof PullFailed)) throw error;
      this.retries.push({ what, error: error.message });
      this.context.log(`${what}: ${error.message}; measuring it once more`);
      await reset();
      return measure();
    }
  }

  /** One pull in the office. @throws PullFailed naming the pull's failure. */
  private async pull(route: CacheRoute, label: string): Promise<PullTiming> {
    const { plan, processes, spec, image, concurrency, log } = this.context;
    log(`pull ${label} (route ${formatCacheRoute(route)})`);
    const result = (await processes.runJson(
      spec(`pull-${label}`, 'office', 'pull', {
        target: {
          dtr: plan.urlFrom('office', 'headquarters'),
          username: USER.name,
          password: USER.password,
          image: image.reference,
        },
        options: { route, concurrency },
      }),
      15 * 60_000,
    )) as PullTiming | { error: { failure: string; message: string } };
    if ('error' in result)
      throw new PullFailed(`pull ${label}: ${result.error.failure}: ${result.error.message}`);
    log(`pull ${label}: ${(result.totalMs / 1000).toFixed(2)} s`);
    this.pulls.push(result);
    return result;
  }

  /**
   * The row of a pull; `hops` are the caches its blob requests reach (the on-paper authorizations).
   * Logs a warning when a blob's cache result is not the one its state expects.
   */
  private row(
    timing: PullTiming,
    state: RunRow['state'],
    chain: readonly ServerSite[],
    hops: readonly ServerSite[],
  ): RunRow {
    const results: Record<string, number> = {};
    for (const blob of timing.blobs) results[blob.result] = (results[blob.result] ?? 0) + 1;
    const expected = { direct: 'origin', cold: 'miss', warm: 'hit' }[state];
    if (results[expected] !== timing.blobs.length)
      this.context.log(
        `warning: a ${state} pull expected every blob ${expected}: ${JSON.stringify(results)}`,
      );
    return {
      route: timing.route,
      depth: chain.length,
      chain,
      state,
      totalMs: timing.totalMs,
      megabytesPerSecond: timing.megabytesPerSecond,
      firstByteMs: timing.firstByteMs,
      manifestMs: timing.manifestMs,
      results,
      auth: authEstimate(
        timing.blobs.length,
        this.context.concurrency,
        hops.map((site) => roundTripToHeadquartersMs(chain, site, this.context.rttOf)),
      ),
    };
  }
}
