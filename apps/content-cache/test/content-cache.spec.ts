import { randomBytes } from 'node:crypto';
import { type IncomingMessage, request } from 'node:http';
import { MemoryDriver, type MemoryTier } from '@dtr-cache/blob-store';
import { Digest, generateGrantSigningKey } from '@dtr-cache/registry-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  cache = await startCache({ upstreams: [origin.url], stallTimeoutMs: 500 });
});
afterAll(async () => {
  await cache.close();
  await origin.close();
});

async function blobUrl(digest: Digest, at = cache.url, repo = repository) {
  return `${at}/v2/${repo}/blobs/${digest}?grant=${await origin.grant(repo, digest)}`;
}

async function getBytes(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url, init);
  return {
    status: response.status,
    body: Buffer.from(await response.arrayBuffer()),
    headers: response.headers,
  };
}

/** Reads a response to its end; rejects if the body is cut off. */
function fetchAborts(url: string): Promise<boolean> {
  return fetch(url)
    .then((response) => response.arrayBuffer())
    .then(
      () => false,
      () => true,
    );
}

/** An error answer carries none of a blob's headers (a year's Cache-Control would keep it). */
function expectNoBlobHeaders(headers: Headers): void {
  for (const name of ['cache-control', 'etag', 'docker-content-digest', 'accept-ranges']) {
    expect(headers.get(name), name).toBeNull();
  }
}

describe('grants', () => {
  it('refuses every request without a valid grant for exactly that repository and digest, hit or miss alike', async () => {
    const content = randomBytes(1000);
    const digest = origin.add(content);
    const other = origin.add(randomBytes(10));
    const strangerKey = await generateGrantSigningKey();
    const grants = {
      none: '',
      garbage: '?grant=abc.def.ghi',
      expired: `?grant=${await origin.grant(repository, digest, { now: new Date(Date.now() - 600_000) })}`,
      repository: `?grant=${await origin.grant('alice/other', digest)}`,
      digest: `?grant=${await origin.grant(repository, other)}`,
      'unknown key': `?grant=${await origin.grant(repository, digest, { key: strangerKey })}`,
    };
    const answers = async () => {
      const result: Record<string, [number, string]> = {};
      for (const [label, query] of Object.entries(grants)) {
        const response = await fetch(`${cache.url}/v2/${repository}/blobs/${digest}${query}`);
        result[label] = [
          response.status,
          ((await response.json()) as { errors: Array<{ code: string }> }).errors[0]
            ?.code as string,
        ];
      }
      return result;
    };
    const beforeRequests = origin.requests.length;
    const missAnswers = await answers();
    expect(
      Object.values(missAnswers).every(
        ([status, code]) => status === 401 && code === 'UNAUTHORIZED',
      ),
    ).toBe(true);
    expect(origin.requests.length).toBe(beforeRequests);
    expect((await getBytes(await blobUrl(digest))).status).toBe(200);
    expect(await answers()).toEqual(missAnswers);
    expect(
      cache.logs.some((line) => line['cache'] === 'denied' && line['digest'] === digest.toString()),
    ).toBe(true);
  });
});

describe('serving', () => {
  it('fills a miss once, then serves hits from disk', async () => {
    const content = randomBytes(700_000);
    const digest = origin.add(content);
    const first = await getBytes(await blobUrl(digest));
    expect(first.status).toBe(200);
    expect(first.body.equals(content)).toBe(true);
    expect(first.headers.get('docker-content-digest')).toBe(digest.toString());
    expect(first.headers.get('content-length')).toBe(String(content.length));
    const second = await getBytes(await blobUrl(digest));
    expect(second.body.equals(content)).toBe(true);
    expect(origin.blobGets(digest)).toBe(1);
    const results = cache.results(digest);
    expect(results).toEqual(['miss', 'hit']);
    expect(await cache.cache.local.stat(digest)).toMatchObject({ size: content.length });
  });

  it('serves a small blob pulled before from memory, with the same headers, bytes and ranges', async () => {
    const content = randomBytes(300_000);
    const digest = origin.add(content);
    const tier = cache.cache.local as MemoryTier;
    const pulls = [];
    for (let pull = 0; pull < 3; pull += 1) pulls.push(await getBytes(await blobUrl(digest)));
    expect(tier.bytes).toBeGreaterThanOrEqual(content.length);
    for (const pull of pulls) {
      expect(pull.status).toBe(200);
      expect(pull.body.equals(content)).toBe(true);
      expect(pull.headers.get('content-length')).toBe(String(content.length));
      expect(pull.headers.get('docker-content-digest')).toBe(digest.toString());
      expect(pull.headers.get('etag')).toBe(`"${digest.toString()}"`);
    }
    const part = await getBytes(await blobUrl(digest), { headers: { Range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${content.length}`);
    expect(part.body.equals(content.subarray(1000, 2000))).toBe(true);
    expect(origin.blobGets(digest)).toBe(1);
  });

  it('makes one upstream request for 16 clients missing the same blob at once', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 5 });
    const url = await blobUrl(digest);
    const results = await Promise.all(Array.from({ length: 16 }, () => getBytes(url)));
    expect(results.every((result) => result.status === 200 && result.body.equals(content))).toBe(
      true,
    );
    expect(origin.blobGets(digest)).toBe(1);
    const outcomes = cache.results(digest);
    expect(outcomes.filter((outcome) => outcome === 'miss')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'coalesced')).toHaveLength(15);
  });

  it('sends the first bytes before the upstream has sent the whole blob', async () => {
    const content = randomBytes(20 * 64 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 50 });
    const started = Date.now();
    const response = await fetch(await blobUrl(digest));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const firstByte = Date.now() - started;
    while (!(await reader.read()).done);
    const total = Date.now() - started;
    expect(total).toBeGreaterThanOrEqual(900);
    expect(firstByte).toBeLessThan(total / 3);
  });

  it('keeps filling when the first client goes away', async () => {
    const content = randomBytes(10 * 64 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 20 });
    const controller = new AbortController();
    const response = await fetch(await blobUrl(digest), { signal: controller.signal });
    await (response.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    for (let attempt = 0; attempt < 100 && !(await cache.cache.local.stat(digest)); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await cache.cache.local.stat(digest)).toMatchObject({ size: content.length });
    expect((await getBytes(await blobUrl(digest))).body.equals(content)).toBe(true);
    expect(origin.blobGets(digest)).toBe(1);
  });

  it('does not let a slow client slow the others', async () => {
    const content = randomBytes(4 * 1024 * 1024);
    const digest = origin.add(content);
    const url = await blobUrl(digest);
    const slow = await new Promise<IncomingMessage>((resolve) => request(url, resolve).end());
    slow.pause();
    const fast = await getBytes(url);
    expect(fast.body.equals(content)).toBe(true);
    slow.destroy();
    expect(origin.blobGets(digest)).toBe(1);
  });

  it('serves ranges on hits and on misses without a second download, and refuses unsatisfiable ones', async () => {
    const content = randomBytes(300_000);
    const digest = origin.add(content, { kind: 'slow', delayMs: 5 });
    const url = await blobUrl(digest);
    const [missRange, whole] = await Promise.all([
      getBytes(url, { headers: { Range: 'bytes=1000-1999' } }),
      getBytes(url),
    ]);
    expect(missRange.status).toBe(206);
    expect(missRange.headers.get('content-range')).toBe(`bytes 1000-1999/${content.length}`);
    expect(missRange.body.equals(content.subarray(1000, 2000))).toBe(true);
    expect(whole.body.equals(content)).toBe(true);
    const hitRange = await getBytes(url, { headers: { Range: 'bytes=-10' } });
    expect(hitRange.status).toBe(206);
    expect(hitRange.body.equals(content.subarray(-10))).toBe(true);
    const beyond = await fetch(url, { headers: { Range: `bytes=${content.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${content.length}`);
    expectNoBlobHeaders(beyond.headers);
    expect(origin.blobGets(digest)).toBe(1);
  });

  it('answers If-None-Match with the digest with 304 and the headers a 200 would cache by', async () => {
    const content = randomBytes(1000);
    const digest = origin.add(content);
    const url = await blobUrl(digest);
    expect((await getBytes(url)).status).toBe(200);
    const notModified = await fetch(url, { headers: { 'If-None-Match': `"${digest}"` } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe(`"${digest}"`);
    expect(notModified.headers.get('cache-control')).toBe('max-age=31536000');
  });

  it('answers HEAD on a miss from upstream, without filling', async () => {
    const content = randomBytes(5000);
    const digest = origin.add(content);
    const head = await fetch(await blobUrl(digest), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5000');
    expect(
      origin.requests.filter(
        (entry) => entry.method === 'HEAD' && entry.path.endsWith(digest.toString()),
      ),
    ).toHaveLength(1);
    expect(origin.blobGets(digest)).toBe(0);
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    const unknown = Digest.of('not anywhere');
    const notFound = await fetch(await blobUrl(unknown), { method: 'HEAD' });
    expect(notFound.status).toBe(404);
    expectNoBlobHeaders(notFound.headers);
  });
});

describe('failures keep nothing and abort every client', () => {
  afterEach(() => undefined);

  it('upstream dying mid-blob: clients aborted, nothing kept, the next request fills afresh', async () => {
    const content = randomBytes(600_000);
    const digest = origin.add(content, { kind: 'die-after', bytes: 200_000 });
    const url = await blobUrl(digest);
    expect(await Promise.all([fetchAborts(url), fetchAborts(url)])).toEqual([true, true]);
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    origin.behaviours.set(digest.toString(), { kind: 'normal' });
    expect((await getBytes(url)).body.equals(content)).toBe(true);
    expect(origin.blobGets(digest)).toBe(2);
  });

  it('bytes that do not match the digest: aborted, not kept', async () => {
    const content = randomBytes(300_000);
    const digest = origin.add(content, { kind: 'wrong-bytes' });
    expect(await fetchAborts(await blobUrl(digest))).toBe(true);
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
  });

  it('a stalled upstream: aborted after the stall timeout, not kept', async () => {
    const content = randomBytes(300_000);
    const digest = origin.add(content, { kind: 'stall-after', bytes: 100_000 });
    expect(await fetchAborts(await blobUrl(digest))).toBe(true);
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
  });

  it('an upstream not knowing the blob passes the answer on; neither that nor a refusal keeps a file', async () => {
    // Its own cache, to count the temp files (created while the upstream request is under way).
    const driver = new MemoryDriver();
    const own = await startCache({ upstreams: [origin.url], driver });
    try {
      const unknown = Digest.of('nowhere at all');
      const response = await fetch(await blobUrl(unknown, own.url));
      expect(response.status).toBe(404);
      expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
        'BLOB_UNKNOWN',
      );
      // A refusal without an error envelope says nothing a client could act on: unavailable.
      const refused = origin.add(randomBytes(100), { kind: 'status', status: 403 });
      expect((await fetch(await blobUrl(refused, own.url))).status).toBe(503);
      expect(await driver.removeTempFiles()).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('the registry surface', () => {
  it('answers /v2/ as a registry, refuses manifests, serves health, metrics and the relayed keys', async () => {
    const base = await fetch(`${cache.url}/v2/`);
    expect(base.status).toBe(200);
    expect(base.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect((await fetch(`${cache.url}/v2/${repository}/manifests/latest`)).status).toBe(405);
    expect(await (await fetch(`${cache.url}/health`)).json()).toMatchObject({
      status: 'ok',
      grantKeys: 1,
    });
    const metrics = await (await fetch(`${cache.url}/metrics`)).text();
    expect(metrics).toMatch(/content_cache_blob_requests_total\{method="GET",result="hit"\} \d+/);
    expect(metrics).toMatch(/content_cache_fills_total\{outcome="committed"\} \d+/);
    expect(await (await fetch(`${cache.url}/.well-known/jwks.json`)).json()).toEqual({
      keys: [origin.key.publicKey],
      issuer: 'dtr',
    });
  });

  it('puts http.headers and the API version on blob answers and errors alike, in any request-target form', async () => {
    const own = await startCache({
      upstreams: [origin.url],
      headers: { 'X-Served-By': ['cache-1'], 'X-Extra': ['a', 'b'] },
    });
    try {
      const content = randomBytes(1000);
      const digest = origin.add(content);
      const url = await blobUrl(digest, own.url);
      const answers = [
        await fetch(url),
        await fetch(url, { method: 'HEAD' }),
        await fetch(url, { headers: { 'If-None-Match': `"${digest}"` } }),
        await fetch(url.replace(/grant=.*/, 'grant=forged')),
        await fetch(`${own.url}/v2/`),
      ];
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 304, 401, 200]);
      for (const answer of answers) {
        expect(answer.headers.get('x-served-by')).toBe('cache-1');
        expect(answer.headers.get('x-extra')).toBe('a, b');
        expect(answer.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
      }
      expect(
        ((await answers[3]?.json()) as { errors: Array<{ code: string }> }).errors[0]?.code,
      ).toBe('UNAUTHORIZED');
      // Absolute-form, as a client talking to a proxy sends it (RFC 9112, 3.2.2).
      const target = new URL(url);
      const absolute = await new Promise<{ status?: number; body: Buffer }>((resolve, reject) => {
        request({ host: target.hostname, port: target.port, path: target.href }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode, body: Buffer.concat(chunks) }),
          );
        })
          .once('error', reject)
          .end();
      });
      expect(absolute.status).toBe(200);
      expect(absolute.body.equals(content)).toBe(true);
    } finally {
      await own.close();
    }
  });
});
