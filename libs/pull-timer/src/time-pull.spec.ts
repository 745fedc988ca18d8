import { Headers } from '@dtr-cache/registry-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeTopology, USER, deadUrl, startFakeTopology } from '../test/fake-registry';
import { PullError, timePull } from './index';

let fake: FakeTopology;
const target = (image = 'org/app:v1') => ({ dtr: fake.dtr, ...USER, image });
const routeHeader = Headers.contentCacheRoute.toLowerCase();

/** The PullError `timePull` rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<PullError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PullError);
  return error as PullError;
}

beforeAll(async () => {
  fake = await startFakeTopology('127.0.0.190', '127.0.0.191', 5);
  fake.addIndex('multi');
});
afterAll(() => fake.close());
afterEach(() => {
  Object.assign(fake.behaviour, {
    settingIsCache: false,
    routeRefusal: undefined,
    ignoreRoute: false,
    cacheResult: () => 'miss',
    corrupt: undefined,
    blobDelayMs: 0,
    hangBlobs: false,
    stallBodies: false,
  });
  fake.dtrRequests.length = 0;
  fake.cacheRequests.length = 0;
});

describe('timePull', () => {
  it('pulls straight from DTR with route none: every blob verified, served by DTR', async () => {
    const timing = await timePull(target(), { route: { kind: 'none' } });
    expect(timing.route).toBe('none');
    expect(timing.image).toBe('org/app:v1');
    expect(timing.blobs.map((blob) => blob.digest)).toEqual(fake.blobs.map((blob) => blob.digest));
    expect(
      timing.blobs.every((blob) => blob.result === 'origin' && blob.servedBy === fake.dtr),
    ).toBe(true);
    const bytes = fake.blobs.reduce((sum, blob) => sum + blob.content.length, 0);
    expect(timing.bytes).toBe(bytes);
    expect(timing.megabytesPerSecond).toBeCloseTo(bytes / 1000 / timing.totalMs, 6);
    expect(timing.manifestMs).toBeLessThanOrEqual(timing.firstByteMs);
    expect(timing.firstByteMs).toBeLessThanOrEqual(timing.totalMs);
    expect(Date.parse(timing.startedAt)).not.toBeNaN();
    const blobRequests = fake.dtrRequests.filter((request) => request.path.includes('/blobs/'));
    expect(blobRequests.map((request) => request.headers[routeHeader])).toEqual(
      fake.blobs.map(() => 'none'),
    );
    expect(fake.cacheRequests).toEqual([]);
  });

  it('follows DTR redirect to the named cache without sending it DTR token', async () => {
    fake.behaviour.cacheResult = (digest) => (digest === fake.blobs[0]?.digest ? 'hit' : 'miss');
    const timing = await timePull(target(), { route: { kind: 'cache', cache: 'los-angeles' } });
    expect(timing.route).toBe('los-angeles');
    expect(timing.blobs.map((blob) => blob.result)).toEqual([
      'hit',
      'miss',
      'miss',
      'miss',
      'miss',
      'miss',
    ]);
    expect(timing.blobs.every((blob) => blob.servedBy === fake.cache)).toBe(true);
    expect(fake.cacheRequests).toHaveLength(fake.blobs.length);
    for (const request of fake.cacheRequests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers[routeHeader]).toBeUndefined();
      expect(request.path).toContain('grant=signed');
    }
    for (const blob of timing.blobs) expect(blob.firstByteMs).toBeLessThanOrEqual(blob.totalMs);
  });

  it('sends no route header without a route, and reports the setting', async () => {
    fake.behaviour.settingIsCache = true;
    const timing = await timePull(target());
    expect(timing.route).toBe('setting');
    expect(timing.blobs.every((blob) => blob.servedBy === fake.cache)).toBe(true);
    expect(fake.dtrRequests.every((request) => request.headers[routeHeader] === undefined)).toBe(
      true,
    );
  });

  it('asks for one member and refuses a redirect to another', async () => {
    const member = `${fake.cache}/`;
    const timing = await timePull(target(), {
      route: { kind: 'cache', cache: 'region-us', member },
    });
    expect(timing.route).toBe(`region-us; member=${member}`);
    expect(timing.blobs.every((blob) => blob.servedBy === fake.cache)).toBe(true);

    fake.behaviour.ignoreRoute = true;
    fake.behaviour.settingIsCache = true;
    const error = await failureOf(
      timePull(target(), { route: { kind: 'cache', cache: 'region-us', member: fake.dtr } }),
    );
    expect(error.failure).toBe('route');
    expect(error.message).toContain(`not to the member ${fake.dtr} asked for`);
  });

  it('downloads at most `concurrency` blobs at once (default 3)', async () => {
    fake.behaviour.blobDelayMs = 100;
    await timePull(target(), { route: { kind: 'none' } });
    expect(fake.maxInFlight()).toBe(3);
  });

  it('picks the platform of an index, and names the platforms it has when none fits', async () => {
    const timing = await timePull(
      { ...target('org/app:multi'), platform: 'linux/arm64/v8' },
      { route: { kind: 'none' } },
    );
    expect(timing.blobs).toHaveLength(fake.blobs.length);
    const error = await failureOf(timePull(target('org/app:multi')));
    expect(error.failure).toBe('not-found');
    expect(error.message).toBe(
      'org/app:multi has no linux/amd64 image (platforms: linux/arm64/v8)',
    );
  });

  it('names wrong credentials, a repository without access and an unknown tag', async () => {
    const wrong = await failureOf(timePull({ ...target(), password: 'nope' }));
    expect([wrong.failure, wrong.message]).toEqual([
      'credentials',
      `wrong credentials for alice at ${fake.dtr}`,
    ]);
    const denied = await failureOf(timePull(target('other/app:v1')));
    expect(denied.failure).toBe('denied');
    expect(denied.message).toContain('alice may not pull other/app');
    const unknown = await failureOf(timePull(target('org/app:v9')));
    expect(unknown.failure).toBe('not-found');
    expect(unknown.message).toContain('404 MANIFEST_UNKNOWN');
  });

  it.each([
    [404, 'NOT_FOUND'],
    [503, 'UNAVAILABLE'],
    [400, 'INVALID_REQUEST'],
  ])('reports DTR refusing the route with %i %s as a route failure', async (status, code) => {
    fake.behaviour.routeRefusal = { status, code };
    const error = await failureOf(timePull(target(), { route: { kind: 'cache', cache: 'tokyo' } }));
    expect(error.failure).toBe('route');
    expect(error.message).toBe(
      `DTR ${fake.dtr} refused the route "tokyo": ${status} ${code}: fake ${code}`,
    );
  });

  it('refuses the numbers of a DTR that ignores the route header', async () => {
    fake.behaviour.ignoreRoute = true;
    fake.behaviour.settingIsCache = true;
    const redirected = await failureOf(timePull(target(), { route: { kind: 'none' } }));
    expect(redirected.failure).toBe('route');
    fake.behaviour.settingIsCache = false;
    const served = await failureOf(
      timePull(target(), { route: { kind: 'cache', cache: 'los-angeles' } }),
    );
    expect(served.failure).toBe('route');
    expect(served.message).toContain('served');
  });

  it('fails a blob that does not match its digest, or a cache answer without X-Content-Cache', async () => {
    fake.behaviour.corrupt = (digest) =>
      digest === fake.blobs[2]?.digest
        ? Buffer.alloc(fake.blobs[2].content.length)
        : (fake.blobs.find((blob) => blob.digest === digest)?.content as Buffer);
    const corrupt = await failureOf(timePull(target(), { route: { kind: 'cache', cache: 'c' } }));
    expect(corrupt.failure).toBe('invalid');
    expect(corrupt.message).toContain(`${fake.cache} sent`);
    expect(corrupt.message).toContain(fake.blobs[2]?.digest);

    fake.behaviour.corrupt = undefined;
    fake.behaviour.cacheResult = () => undefined;
    const unlabelled = await failureOf(
      timePull(target(), { route: { kind: 'cache', cache: 'c' } }),
    );
    expect(unlabelled.failure).toBe('invalid');
    expect(unlabelled.message).toContain(Headers.contentCache);
  });

  it('names an unreachable DTR or cache member, and a server that stops answering', async () => {
    const dead = await deadUrl('127.0.0.192');
    const dtrDown = await failureOf(timePull({ ...target(), dtr: dead }));
    expect(dtrDown.failure).toBe('unreachable');
    expect(dtrDown.message).toMatch(new RegExp(`^${dead} is unreachable: connect ECONNREFUSED`));

    const memberDown = await failureOf(
      timePull(target(), { route: { kind: 'cache', cache: 'c', member: dead } }),
    );
    expect(memberDown.failure).toBe('unreachable');
    expect(memberDown.message).toContain(`${dead} is unreachable`);

    fake.behaviour.hangBlobs = true;
    const hung = await failureOf(timePull(target(), { route: { kind: 'none' }, timeoutMs: 300 }));
    expect([hung.failure, hung.message]).toEqual([
      'unreachable',
      `${fake.dtr} is unreachable: no progress for 0.3 s`,
    ]);
  });

  it('names a cache member that stops sending a body half way', async () => {
    fake.behaviour.stallBodies = true;
    const stalled = await failureOf(
      timePull(target(), { route: { kind: 'cache', cache: 'c' }, timeoutMs: 300 }),
    );
    expect([stalled.failure, stalled.message]).toEqual([
      'unreachable',
      `${fake.cache} is unreachable: no progress for 0.3 s`,
    ]);
  });

  it('stops on cancel with a PullError', async () => {
    fake.behaviour.hangBlobs = true;
    const controller = new AbortController();
    const pull = timePull(target(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const error = await failureOf(pull);
    expect(error.message).toBe('the pull was cancelled');
  });
});
