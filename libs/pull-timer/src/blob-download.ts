import { performance } from 'node:perf_hooks';
import {
  type CacheRoute,
  Digest,
  DigestHasher,
  Headers,
  type OciDescriptor,
  formatCacheRoute,
  parseCacheResult,
  registryPaths,
  resolveRegistryUrl,
} from '@dtr-cache/registry-protocol';
import { failureOfStatus, readErrorAnswer } from './error-answer';
import { type SessionAnswer, baseUrlOf, normalizeBaseUrl } from './http-session';
import { PullError } from './pull-error';
import { type RegistryContext, authorizationHeaders, registryRefusal } from './registry-context';
import type { BlobTiming } from './types';

/** Redirects followed for one blob (DTR's to a cache is the one expected). */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** DTR's codes for a route it refuses (unknown cache or member, no healthy member, malformed). */
const ROUTE_REFUSALS = new Set(['NOT_FOUND', 'UNAVAILABLE', 'INVALID_REQUEST']);

/** A downloaded blob's timing, and when (performance.now) its first byte came. */
export interface DownloadedBlob {
  readonly timing: BlobTiming;
  readonly firstByteAt: number;
}

/**
 * Downloads one blob as docker does: `GET` from DTR (with `route` as `X-Content-Cache-Route`),
 * following redirects without DTR's `Authorization` (the grant is in the URL), read to the end
 * and checked against its digest and size. Streams: never holds more than a chunk.
 * @throws PullError `route` when DTR refuses or ignores `route`, else as the answer says.
 */
export async function downloadBlob(
  context: RegistryContext,
  descriptor: OciDescriptor,
  route: CacheRoute | undefined,
): Promise<DownloadedBlob> {
  const started = performance.now();
  const expected = Digest.parse(descriptor.digest);
  const answer = await answerWithBytes(context, expected, route);
  const servedBy = baseUrlOf(answer.url);
  const fromDtr = servedBy === normalizeBaseUrl(context.dtr);
  const result = fromDtr ? 'origin' : parseCacheResult(headerOf(answer, Headers.contentCache));
  if (result === undefined) {
    answer.response.destroy();
    throw new PullError(
      'invalid',
      `${servedBy} sent ${descriptor.digest} without a valid ${Headers.contentCache} header (not a content cache of this version?)`,
    );
  }
  if (fromDtr && route?.kind === 'cache') {
    answer.response.destroy();
    throw new PullError(
      'route',
      `DTR ${context.dtr} served ${descriptor.digest} itself instead of sending it to "${formatCacheRoute(route)}" (does it honour ${Headers.contentCacheRoute}?)`,
    );
  }
  const hasher = new DigestHasher(expected.algorithm);
  let firstByteAt: number | undefined;
  try {
    for await (const chunk of answer.response as AsyncIterable<Buffer>) {
      firstByteAt ??= performance.now();
      hasher.update(chunk);
      if (hasher.size > descriptor.size) {
        answer.response.destroy();
        throw new PullError(
          'invalid',
          `${servedBy} sent more than the ${descriptor.size} bytes of ${descriptor.digest}`,
        );
      }
    }
  } catch (error) {
    throw answer.failure(error);
  }
  const actual = hasher.digest();
  if (hasher.size !== descriptor.size || !actual.equals(expected))
    throw new PullError(
      'invalid',
      `${servedBy} sent ${hasher.size} bytes for ${descriptor.digest} (${descriptor.size} bytes) that hash to ${actual.toString()}`,
    );
  const ended = performance.now();
  firstByteAt ??= ended;
  return {
    firstByteAt,
    timing: {
      digest: descriptor.digest,
      size: descriptor.size,
      servedBy,
      result,
      firstByteMs: firstByteAt - started,
      totalMs: ended - started,
    },
  };
}

function headerOf(answer: SessionAnswer, name: string): string | undefined {
  const value = answer.response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The answer that carries the blob's bytes: DTR's, or the one at the end of its redirects. */
async function answerWithBytes(
  context: RegistryContext,
  digest: Digest,
  route: CacheRoute | undefined,
): Promise<SessionAnswer> {
  const dtrOrigin = new URL(context.dtr).origin;
  let url = resolveRegistryUrl(context.dtr, registryPaths.blob(context.repository, digest));
  let headers: Record<string, string> = {
    ...authorizationHeaders(context),
    ...(route ? { [Headers.contentCacheRoute]: formatCacheRoute(route) } : {}),
  };
  for (let hop = 0; ; hop += 1) {
    const answer = await context.session.get(url, headers);
    const status = answer.response.statusCode ?? 0;
    const fromDtr = url.origin === dtrOrigin;
    if (status === 200) return answer;
    const location = headerOf(answer, Headers.location);
    if (REDIRECT_STATUSES.has(status) && location !== undefined && hop < MAX_REDIRECTS) {
      answer.response.resume();
      const next = new URL(location, url);
      if (fromDtr && route) checkRedirect(context, route, next, digest);
      url = next;
      // Docker sends DTR's token to DTR only: a cache gets the grant in the URL.
      headers = next.origin === dtrOrigin ? authorizationHeaders(context) : {};
      continue;
    }
    const refusal = await readErrorAnswer(context.session, answer);
    if (fromDtr && route && refusal.code !== undefined && ROUTE_REFUSALS.has(refusal.code))
      throw new PullError(
        'route',
        `DTR ${context.dtr} refused the route "${formatCacheRoute(route)}": ${refusal.text}`,
      );
    if (fromDtr) throw registryRefusal(context, `the blob ${digest.toString()}`, refusal);
    throw new PullError(
      REDIRECT_STATUSES.has(status) ? 'invalid' : failureOfStatus(status),
      `${baseUrlOf(url)} refused the blob ${digest.toString()}: ${refusal.text}`,
    );
  }
}

/** DTR's redirect goes where `route` asked: nowhere for `none`, to the member if one was named. */
function checkRedirect(context: RegistryContext, route: CacheRoute, next: URL, digest: Digest) {
  if (route.kind === 'none')
    throw new PullError(
      'route',
      `DTR ${context.dtr} redirected ${digest.toString()} to ${baseUrlOf(next)} although asked to serve it (does it honour ${Headers.contentCacheRoute}?)`,
    );
  if (route.member !== undefined && baseUrlOf(next) !== normalizeBaseUrl(route.member))
    throw new PullError(
      'route',
      `DTR ${context.dtr} redirected ${digest.toString()} to ${baseUrlOf(next)}, not to the member ${route.member} asked for`,
    );
}
