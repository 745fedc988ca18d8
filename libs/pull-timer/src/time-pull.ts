import { performance } from 'node:perf_hooks';
import { formatCacheRoute } from '@dtr-cache/registry-protocol';
import { downloadBlob } from './blob-download';
import { HttpSession, normalizeBaseUrl } from './http-session';
import { parseImageReference } from './image-reference';
import { DEFAULT_PLATFORM, fetchImageBlobs } from './manifest';
import { runPool } from './pool';
import { PullError } from './pull-error';
import { registryAuthorization } from './registry-auth';
import type { RegistryContext } from './registry-context';
import type { PullOptions, PullTarget, PullTiming } from './types';

/** Docker's default number of blobs downloaded at once. */
const DEFAULT_CONCURRENCY = 3;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Pulls `target`'s image as docker does: a bearer token from DTR's token service (following the
 * WWW-Authenticate challenge of GET /v2/), the manifest from DTR (an index: the platform's
 * manifest), then the config and layers, `concurrency` at a time, each a GET to DTR following its
 * 307 redirect, read to the end and checked against its digest (streams: never buffers a blob).
 * Keep-alive connections per origin, as docker's. Times each step.
 * @throws PullError (never anything else) naming what failed.
 */
export async function timePull(target: PullTarget, options: PullOptions = {}): Promise<PullTiming> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new PullError(
      'invalid',
      `concurrency must be a whole number from 1 (got ${concurrency})`,
    );
  if (!(timeoutMs > 0))
    throw new PullError('invalid', `timeoutMs must be positive (got ${timeoutMs})`);
  let dtr: string;
  try {
    dtr = normalizeBaseUrl(target.dtr);
  } catch (error) {
    throw new PullError('invalid', `DTR's URL "${target.dtr}" is not a URL`, { cause: error });
  }
  const image = parseImageReference(target.image, new URL(dtr).host);
  const cancel = new AbortController();
  const onAbort = () => cancel.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const session = new HttpSession({ ca: target.ca, timeoutMs, signal: cancel.signal });
  try {
    const startedAt = new Date().toISOString();
    const start = performance.now();
    const authorization = await registryAuthorization(session, target, image.repository);
    const context: RegistryContext = {
      session,
      dtr,
      username: target.username,
      repository: image.repository,
      authorization,
    };
    const { blobs } = await fetchImageBlobs(
      context,
      image.reference,
      target.platform ?? DEFAULT_PLATFORM,
    );
    const manifestMs = performance.now() - start;
    const downloaded = await runPool(
      blobs,
      concurrency,
      (descriptor) => downloadBlob(context, descriptor, options.route),
      () => cancel.abort(),
    );
    const totalMs = performance.now() - start;
    const bytes = downloaded.reduce((sum, blob) => sum + blob.timing.size, 0);
    const firstByteAt = Math.min(...downloaded.map((blob) => blob.firstByteAt));
    return {
      route: options.route ? formatCacheRoute(options.route) : 'setting',
      image: target.image,
      startedAt,
      manifestMs,
      firstByteMs: downloaded.length > 0 ? firstByteAt - start : totalMs,
      totalMs,
      bytes,
      megabytesPerSecond: totalMs > 0 ? bytes / 1000 / totalMs : 0,
      blobs: downloaded.map((blob) => blob.timing),
    };
  } catch (error) {
    if (error instanceof PullError) throw error;
    throw new PullError('invalid', `the pull failed unexpectedly: ${String(error)}`, {
      cause: error,
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    session.close();
  }
}
