import {
  PullError,
  type PullFailure,
  type PullOptions,
  type PullTarget,
  type PullTiming,
  timePull,
} from '@dtr-cache/pull-timer';
import type { PullRoute } from './routes';

/** `cold`: a pull that found blobs not yet cached; `warm`: a pull after one, or every blob a hit. */
export type Pass = 'cold' | 'warm';

export interface MeasuredPull {
  readonly pass: Pass;
  readonly timing: PullTiming;
}

/** A route's pulls, and its failure (after the pulls that worked) if one failed. */
export interface RouteResult {
  readonly route: PullRoute;
  readonly pulls: readonly MeasuredPull[];
  readonly error: { readonly failure: PullFailure; readonly message: string } | null;
}

/** The pull function (the library's; replaced in unit specs). */
export type Pull = (target: PullTarget, options: PullOptions) => Promise<PullTiming>;

/**
 * Pulls the image once through `route`; when any blob of that pull was not a cache `hit` (a
 * miss, coalesced, pass-through, or DTR itself), pulls again, so the route shows cold and warm.
 * A failed pull ends the route with its error; it never throws.
 */
export async function measureRoute(
  route: PullRoute,
  target: PullTarget,
  options: Omit<PullOptions, 'route'>,
  pull: Pull = timePull,
): Promise<RouteResult> {
  const pulls: MeasuredPull[] = [];
  try {
    const first = await pull(target, { ...options, route: route.route });
    const allHits = first.blobs.every((blob) => blob.result === 'hit');
    pulls.push({ pass: allHits ? 'warm' : 'cold', timing: first });
    if (!allHits)
      pulls.push({ pass: 'warm', timing: await pull(target, { ...options, route: route.route }) });
    return { route, pulls, error: null };
  } catch (error) {
    const failure: PullFailure = error instanceof PullError ? error.failure : 'invalid';
    return {
      route,
      pulls,
      error: { failure, message: error instanceof Error ? error.message : String(error) },
    };
  }
}
