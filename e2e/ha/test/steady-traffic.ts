import { randomBytes } from 'node:crypto';
import { Digest, Headers, MediaTypes } from '@dtr-cache/registry-protocol';
import type { Answer } from '@dtr-cache/test-support';
import { errorCodeOf, headerOf, type HttpClient, sleep } from './http-client';

/** What one loop of {@link startTraffic} does over and over. */
export type TrafficKind = 'manifest' | 'blob' | 'token' | 'push';

/** One request of the traffic and what came of it. */
export interface Observation {
  readonly loop: number;
  readonly kind: TrafficKind;
  readonly what: string;
  /** The answer's status, or none when the request failed outright (`error`). */
  readonly status?: number;
  /** The registry error code of the answer's JSON envelope, if any. */
  readonly code?: string;
  readonly error?: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Whom the traffic goes to: the load balancer, as whom, and what it pulls and pushes. */
export interface TrafficTarget {
  readonly client: HttpClient;
  readonly base: string;
  readonly auth: string;
  /** A repository, tag and blob to pull. */
  readonly pull: { repository: string; tag: string; blob: string };
  /** A repository to push small images to (a tag per push). */
  readonly pushTo: string;
}

/** The statuses of DTR's successful answers the traffic gets (307: a blob sent to a cache). */
export const SUCCESS_STATUSES: readonly number[] = [200, 201, 202, 204, 307];

/**
 * Whether an answer is one DTR may give while its database is down or back: a success, or 503
 * with `UNAVAILABLE` in the registry JSON envelope — never a 500, nginx's 502 or a broken
 * connection.
 */
export const isAllowed = (observation: Observation) =>
  (observation.status !== undefined && SUCCESS_STATUSES.includes(observation.status)) ||
  (observation.status === 503 && observation.code === 'UNAVAILABLE');

/** Steady traffic of {@link startTraffic}, running until stopped or its bounds. */
export interface Traffic {
  readonly observations: readonly Observation[];
  /** Whether every loop completed an operation (all its requests successes) started at `since` or later. */
  allSucceededSince(since: number): boolean;
  /** Stops the loops and resolves once each finished its current operation. */
  stop(): Promise<void>;
}

const MANIFEST_ACCEPT = [MediaTypes.ociManifest, MediaTypes.dockerManifest].join(', ');

/**
 * Runs one loop per entry of `loops` against `target`, each doing its kind of operation again
 * and again (pausing `pauseMs` between), bounded by `maxOpsPerLoop` operations and `maxMs`. A
 * push is POST, PATCH and PUT of a small config blob, then PUT of a manifest naming it; it stops
 * at its first answer that is not a success (a client would retry later). Every request is
 * recorded, with its status and error code or the error it failed with.
 */
export function startTraffic(
  target: TrafficTarget,
  loops: readonly TrafficKind[],
  limits: { maxOpsPerLoop: number; maxMs: number; pauseMs: number },
): Traffic {
  const observations: Observation[] = [];
  const successes: Array<{ loop: number; startedAt: number }> = [];
  const deadline = Date.now() + limits.maxMs;
  let stopped = false;

  const request = async (
    loop: number,
    kind: TrafficKind,
    what: string,
    path: string,
    options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Answer | undefined> => {
    const startedAt = Date.now();
    try {
      const answer = await target.client.send(`${target.base}${path}`, {
        ...options,
        headers: { Authorization: target.auth, ...options.headers },
        timeoutMs: 20_000,
      });
      const code = answer.status >= 400 ? errorCodeOf(answer) : undefined;
      observations.push({
        loop,
        kind,
        what,
        status: answer.status,
        ...(code ? { code } : {}),
        startedAt,
        endedAt: Date.now(),
      });
      return SUCCESS_STATUSES.includes(answer.status) ? answer : undefined;
    } catch (error) {
      observations.push({ loop, kind, what, error: String(error), startedAt, endedAt: Date.now() });
      return undefined;
    }
  };

  const push = async (loop: number, count: number): Promise<boolean> => {
    const { pushTo } = target;
    const config = Buffer.from(
      JSON.stringify({ loop, count, nonce: randomBytes(8).toString('hex') }),
    );
    const digest = Digest.of(config).toString();
    const started = await request(loop, 'push', 'POST upload', `/v2/${pushTo}/blobs/uploads/`, {
      method: 'POST',
    });
    if (!started) return false;
    const patched = await request(loop, 'push', 'PATCH', headerOf(started, Headers.location), {
      method: 'PATCH',
      headers: { [Headers.contentType]: 'application/octet-stream' },
      body: config,
    });
    if (!patched) return false;
    const location = headerOf(patched, Headers.location);
    const separator = location.includes('?') ? '&' : '?';
    const put = await request(
      loop,
      'push',
      'PUT upload',
      `${location}${separator}digest=${digest}`,
      {
        method: 'PUT',
      },
    );
    if (!put) return false;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest, size: config.length },
      layers: [],
    });
    return (
      (await request(loop, 'push', 'PUT manifest', `/v2/${pushTo}/manifests/l${loop}-${count}`, {
        method: 'PUT',
        headers: { [Headers.contentType]: MediaTypes.ociManifest },
        body: Buffer.from(manifest),
      })) !== undefined
    );
  };

  const operation = async (loop: number, kind: TrafficKind, count: number) => {
    const { repository, tag, blob } = target.pull;
    switch (kind) {
      case 'manifest':
        return (
          (await request(loop, kind, 'GET manifest', `/v2/${repository}/manifests/${tag}`, {
            headers: { [Headers.accept]: MANIFEST_ACCEPT },
          })) !== undefined
        );
      case 'blob':
        return (
          (await request(loop, kind, 'GET blob', `/v2/${repository}/blobs/${blob}`)) !== undefined
        );
      case 'token':
        return (
          (await request(
            loop,
            kind,
            'GET token',
            `/auth/token?scope=${encodeURIComponent(`repository:${repository}:pull`)}`,
          )) !== undefined
        );
      case 'push':
        return push(loop, count);
    }
  };

  const running = loops.map(async (kind, loop) => {
    for (let count = 0; count < limits.maxOpsPerLoop && !stopped && Date.now() < deadline;) {
      const startedAt = Date.now();
      if (await operation(loop, kind, count)) successes.push({ loop, startedAt });
      count += 1;
      await sleep(limits.pauseMs);
    }
  });

  return {
    observations,
    allSucceededSince: (since) =>
      loops.every((_, loop) =>
        successes.some((success) => success.loop === loop && success.startedAt >= since),
      ),
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}
