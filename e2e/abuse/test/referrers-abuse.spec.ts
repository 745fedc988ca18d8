/**
 * The OCI 1.1 referrers endpoint of DTR (`GET /v2/<name>/referrers/<digest>`) under attack through
 * the process topology: one account pushes 1500 referrers of an image and a referrers tag index of
 * its own, then asks for the largest pages, walks `last` everywhere, sends malformed digests, page
 * sizes and artifact type filters, many at once. The caps DTR's referrers code sets are checked
 * from outside: a page is at most 1000 descriptors (a larger `n` is refused), a referrers tag index
 * over 1 MiB is not read, at most 1000 of its entries are, and each listed manifest only once.
 * DTR's CPU time and resident memory are read from /proc; another user is served throughout.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MediaTypes, type OciDescriptor } from '@dtr-cache/registry-protocol';
import {
  type Answer,
  type RunningTopology,
  startTopology,
  type User,
} from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbuseReport } from './abuse-report';
import { type Bystander, recordBystander, startInnocentBystander } from './bystander';
import { cpuSecondsOf, mb, MB, pidOf, rssOf, sleep } from './probes';
import { RegistryClient } from './registry-client';

const report = new AbuseReport('referrers');
let topology: RunningTopology;
let client: RegistryClient;
let bystander: Bystander;
let lister: User;

const REPOSITORY = 'lister/app';
/** The referrers the attacker pushes, half of each artifact type. */
const REFERRERS = 1500;
/** DTR's largest page, the referrers tag entries it examines, the largest tag index it reads. */
const MAX_PAGE = 1000;
const MAX_ADOPTED = 1000;
const MAX_TAG_INDEX_BYTES = 1024 * 1024;
const SIGNATURE = 'application/vnd.example.signature.v1';
const SBOM = 'application/vnd.example.sbom.v1+json';

const digestOf = (bytes: Buffer | string) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const descriptorOf = (mediaType: string, bytes: Buffer | string): OciDescriptor => ({
  mediaType,
  digest: digestOf(bytes),
  size: Buffer.byteLength(bytes),
});
const randomDigest = () => `sha256:${randomBytes(32).toString('hex')}`;

/** The image whose referrers are attacked, and every referrer pushed (sorted by digest). */
let subject: OciDescriptor;
let referrers: OciDescriptor[];
let empty: OciDescriptor;

/** A request to DTR as `user` (a fresh bearer token for the repository each time). */
async function asUser(
  user: User,
  path: string,
  options: { method?: string; body?: string; type?: string } = {},
) {
  const token = await client.token(user, [`repository:${REPOSITORY}:pull,push`]);
  return topology.call(`${client.dtr}${path}`, { ...options, auth: `Bearer ${token}` });
}

/** Requests to DTR with one token (fetched once per batch). */
async function withToken(user: User) {
  const auth = `Bearer ${await client.token(user, [`repository:${REPOSITORY}:pull,push`])}`;
  return (path: string, options: { method?: string; body?: string; type?: string } = {}) =>
    topology.call(`${client.dtr}${path}`, { ...options, auth });
}

/**
 * Another user's calls, timed in a process of its own (this one is busy checking answers): one
 * GET of `url` after another, 20 ms apart, until stopped; `stop` resolves with each one's
 * milliseconds. `ready` resolves once the first call answered.
 * @throws Error (from stop) if a call did not answer 200.
 */
function timedCalls(
  url: string,
  authorization: string,
): { ready: Promise<void>; stop(): Promise<number[]> } {
  const script = `
    const https = require('node:https');
    const { url, authorization, ca } = JSON.parse(process.env.TIMED_CALLS);
    const agent = new https.Agent({ keepAlive: true, ca });
    let running = true;
    process.stdin.on('end', () => (running = false)).resume();
    const times = [];
    const call = () => new Promise((resolve, reject) =>
      https.get(url, { agent, headers: { Authorization: authorization } }, (answer) => {
        answer.resume();
        answer.on('end', () => resolve(answer.statusCode));
      }).on('error', reject));
    (async () => {
      while (running) {
        const started = performance.now();
        const status = await call();
        if (status !== 200) throw new Error('status ' + status);
        times.push(performance.now() - started);
        process.stderr.write('.');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      process.stdout.write(JSON.stringify(times));
      process.exit(0);
    })().catch((error) => { process.stderr.write(error.message); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], {
    env: {
      ...process.env,
      TIMED_CALLS: JSON.stringify({
        url,
        authorization,
        ca: topology.cas.map((ca) => ca.toString()),
      }),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve) =>
    child.stderr.on('data', () => stderr.startsWith('.') && resolve()),
  );
  return {
    ready: Promise.race([ready, exited.then(() => undefined)]),
    stop: async () => {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`timed calls: exit ${code}: ${stderr.replace(/^\.+/, '')}`);
      return JSON.parse(stdout) as number[];
    },
  };
}

/** Runs `tasks` at most `width` at a time; returns their results in order. */
async function bounded<T>(tasks: Array<() => Promise<T>>, width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, tasks.length) }, async () => {
      while (next < tasks.length) {
        const index = next;
        next += 1;
        results[index] = await (tasks[index] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

/** Bytes a process read so far through read system calls (files and sockets): `rchar`. */
async function readBytesOf(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar:\s+(\d+)/m.exec(io)?.[1]);
}

interface Measured<T> {
  readonly result: T;
  readonly ms: number;
  readonly cpuSeconds: number;
  /** Bytes DTR read meanwhile (manifests, tag indexes, requests; SQLite pages). */
  readonly readBytes: number;
  readonly rssBefore: number;
  readonly rssPeak: number;
}

/**
 * DTR's CPU time, bytes read, peak resident memory (sampled every 100 ms) and wall time over
 * `work`.
 */
async function measured<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const pid = await pidOf(topology, 'dtr');
  const rssBefore = await rssOf(pid);
  const cpuBefore = await cpuSecondsOf(pid);
  const readBefore = await readBytesOf(pid);
  let rssPeak = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssPeak = Math.max(rssPeak, await rssOf(pid));
      await sleep(100);
    }
  })();
  const started = performance.now();
  try {
    const result = await work();
    return {
      result,
      ms: performance.now() - started,
      cpuSeconds: (await cpuSecondsOf(pid)) - cpuBefore,
      readBytes: (await readBytesOf(pid)) - readBefore,
      rssBefore,
      rssPeak: Math.max(rssPeak, await rssOf(pid)),
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

interface Listed {
  status: number;
  manifests: OciDescriptor[];
  next: string | undefined;
  filtersApplied: string | undefined;
  code: string | undefined;
}

/** A referrers answer read: the index's descriptors, the next page's path, the error code. */
function listed(answer: Answer): Listed {
  const text = answer.body.toString();
  const link = answer.headers['link'];
  const body = JSON.parse(text === '' ? '{}' : text) as {
    manifests?: OciDescriptor[];
    errors?: Array<{ code: string }>;
  };
  return {
    status: answer.status,
    manifests: body.manifests ?? [],
    next: typeof link === 'string' ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined,
    filtersApplied: answer.headers['oci-filters-applied'] as string | undefined,
    code: body.errors?.[0]?.code,
  };
}

const referrersPath = (digest: string, query: Record<string, string> = {}) => {
  const search = new URLSearchParams(query).toString();
  return `/v2/${REPOSITORY}/referrers/${digest}${search === '' ? '' : `?${search}`}`;
};

/** What DTR must answer for a page of the referrers of `subject`: `filter` applied, after `last`. */
function expectedPage(options: { last?: string; n?: number; artifactType?: string }) {
  const matching = referrers.filter(
    (referrer) =>
      (options.artifactType === undefined || referrer.artifactType === options.artifactType) &&
      referrer.digest > (options.last ?? ''),
  );
  const limit = options.n ?? MAX_PAGE;
  return { page: matching.slice(0, limit), more: matching.length > limit && limit > 0 };
}

/** A referrer manifest: the empty config, no layers, `subject`, a distinct annotation. */
function referrerManifest(of: OciDescriptor, index: number, artifactType: string): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType,
    config: empty,
    layers: [],
    subject: of,
    annotations: { 'org.example.index': String(index) },
  });
}

/** DTR's database (SQLite, WAL), to read what it recorded and to make rows of the release before. */
function openDtrDatabase(): BetterSqlite3.Database {
  const database = new BetterSqlite3(join(topology.data, 'dtr', 'dtr.sqlite'));
  database.pragma('busy_timeout = 10000');
  return database;
}

beforeAll(async () => {
  topology = await startTopology('127.0.1.90');
  client = new RegistryClient(topology);
  bystander = await startInnocentBystander(client);

  lister = await client.createUser('lister');
  const emptyDigest = await client.pushBlob(lister, REPOSITORY, Buffer.from('{}'));
  empty = { mediaType: MediaTypes.ociEmpty, digest: emptyDigest, size: 2 };
  const layer = await client.pushBlob(lister, REPOSITORY, randomBytes(4096));
  const image = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { ...empty, mediaType: MediaTypes.ociConfig },
    layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: layer, size: 4096 }],
  });
  const put = await asUser(lister, `/v2/${REPOSITORY}/manifests/v1`, {
    method: 'PUT',
    body: image,
    type: MediaTypes.ociManifest,
  });
  expect(put.status, put.body.toString()).toBe(201);
  subject = descriptorOf(MediaTypes.ociManifest, image);

  // 1500 referrers, pushed 16 at a time.
  const call = await withToken(lister);
  const pushed = await bounded(
    Array.from({ length: REFERRERS }, (_, index) => async () => {
      const artifactType = index % 2 === 0 ? SIGNATURE : SBOM;
      const body = referrerManifest(subject, index, artifactType);
      const answer = await call(`/v2/${REPOSITORY}/manifests/${digestOf(body)}`, {
        method: 'PUT',
        body,
        type: MediaTypes.ociManifest,
      });
      if (answer.status !== 201 || answer.headers['oci-subject'] !== subject.digest)
        throw new Error(`referrer ${index}: ${answer.status} ${answer.body.toString()}`);
      return {
        ...descriptorOf(MediaTypes.ociManifest, body),
        artifactType,
        annotations: { 'org.example.index': String(index) },
      };
    }),
    16,
  );
  referrers = pushed.sort((a, b) => (a.digest < b.digest ? -1 : 1));
}, 240_000);

afterAll(async () => {
  await recordBystander(bystander, report, 'attack');
  await report.finish();
  await topology?.dispose();
});

describe('attacks on the referrers endpoint', () => {
  it('1500 referrers of one image: the largest page, larger n, every Link followed', async () => {
    const call = await withToken(lister);
    // Without n, and with the largest n: a page of 1000 with a Link, then the other 500.
    const walks: string[] = [];
    for (const query of [{}, { n: String(MAX_PAGE) }] as Array<Record<string, string>>) {
      const seen: OciDescriptor[] = [];
      const sizes: number[] = [];
      let next: string | undefined = referrersPath(subject.digest, query);
      while (next !== undefined && sizes.length < 10) {
        const page = listed(await call(next));
        expect(page.status).toBe(200);
        seen.push(...page.manifests);
        sizes.push(page.manifests.length);
        next = page.next;
      }
      walks.push(sizes.join('+'));
      expect(seen).toEqual(referrers);
    }
    // A larger n, or one that is no number, is refused before any query.
    const refusedN = [
      '1001',
      '100000',
      '99999999999999999999999',
      '-1',
      '1e3',
      '0x10',
      '1.5',
      'abc',
      '',
    ];
    const refused = await Promise.all(
      refusedN.map(async (n) => listed(await call(referrersPath(subject.digest, { n })))),
    );
    const zero = listed(await call(referrersPath(subject.digest, { n: '0' })));
    // A filtered walk keeps the filter in each Link.
    const filteredSizes: number[] = [];
    const filtered: OciDescriptor[] = [];
    let next: string | undefined = referrersPath(subject.digest, { artifactType: SBOM, n: '300' });
    let linksKeepFilter = true;
    while (next !== undefined && filteredSizes.length < 10) {
      const page = listed(await call(next));
      expect(page.filtersApplied).toBe('artifactType');
      filtered.push(...page.manifests);
      filteredSizes.push(page.manifests.length);
      next = page.next;
      if (next !== undefined && !next.includes(`artifactType=${encodeURIComponent(SBOM)}`))
        linksKeepFilter = false;
    }
    const ok = report.record({
      attack: `${REFERRERS} referrers; n up to 1e23; filtered walk`,
      expected: 'pages of <= 1000 with Link; n > 1000 or not a number -> 400',
      observed: `walks ${walks.join(', ')}; bad n: ${refused.map((page) => page.status).join(',')}; n=0: ${zero.status} ${zero.manifests.length}; SBOM by 300: ${filteredSizes.join('+')}`,
      passed:
        walks.every((walk) => walk === '1000+500') &&
        refused.every((page) => page.status === 400 && page.code === 'PAGINATION_NUMBER_INVALID') &&
        zero.status === 200 &&
        zero.manifests.length === 0 &&
        filteredSizes.join('+') === '300+300+150' &&
        linksKeepFilter &&
        JSON.stringify(filtered) ===
          JSON.stringify(referrers.filter((referrer) => referrer.artifactType === SBOM)),
    });
    expect(ok).toBe(true);
  });

  it('600 requests, 40 at a time: largest pages after random `last`s, bad digests, bad n, filters', async () => {
    const call = await withToken(lister);
    const worker = await client.createUser('worker');
    const workerToken = await client.token(worker, []);
    const workerCalls = () =>
      timedCalls(`${client.dtr}/api/v0/accounts/worker`, `Bearer ${workerToken}`);
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const quiet = workerCalls();
    await sleep(1500);
    const baseline = await quiet.stop();

    const hex = subject.digest.slice('sha256:'.length);
    const badDigests = [
      'sha256:not-a-digest',
      `sha256:${hex.toUpperCase()}`,
      `sha256:${hex.slice(1)}`,
      `sha256:${hex}0`,
      `sha512:${hex}`,
      `md5:${hex.slice(0, 32)}`,
      `sha256:${'a'.repeat(6000)}`,
      `${encodeURIComponent(subject.digest)}%00`,
      `${subject.digest}%2Fmanifests`,
    ];
    const badN = ['1001', '1000000', '-5', 'NaN'];
    const wrong: string[] = [];
    let answered = 0;
    const check = (label: string, condition: boolean) => {
      answered += 1;
      if (!condition && wrong.length < 20) wrong.push(label);
    };
    const tasks = Array.from({ length: 600 }, (_, index) => async () => {
      switch (index % 6) {
        case 0: {
          // The largest page after a random digest.
          const last = randomDigest();
          const page = listed(
            await call(referrersPath(subject.digest, { n: String(MAX_PAGE), last })),
          );
          const expected = expectedPage({ last, n: MAX_PAGE });
          check(
            `largest page after ${last}`,
            page.status === 200 &&
              JSON.stringify(page.manifests) === JSON.stringify(expected.page) &&
              (page.next !== undefined) === expected.more,
          );
          return;
        }
        case 1: {
          // Some page after an existing referrer, or after a long junk `last`.
          const last =
            index % 4 === 1
              ? (referrers[(index * 7) % REFERRERS] as OciDescriptor).digest
              : `sha256:${'f'.repeat(index % 3000)}`;
          const n = 1 + ((index * 37) % MAX_PAGE);
          const page = listed(await call(referrersPath(subject.digest, { n: String(n), last })));
          const expected = expectedPage({ last, n });
          check(
            `page of ${n} after ${last.slice(0, 20)}`,
            page.status === 200 &&
              JSON.stringify(page.manifests) === JSON.stringify(expected.page) &&
              (page.next !== undefined) === expected.more,
          );
          return;
        }
        case 2: {
          const digest = badDigests[index % badDigests.length] as string;
          const page = listed(await call(`/v2/${REPOSITORY}/referrers/${digest}`));
          check(
            `bad digest ${digest.slice(0, 20)}: ${page.status} ${page.code}`,
            page.status === 400 && page.code === 'DIGEST_INVALID',
          );
          return;
        }
        case 3: {
          const n = badN[index % badN.length] as string;
          const page = listed(await call(referrersPath(subject.digest, { n })));
          check(
            `bad n ${n}: ${page.status} ${page.code}`,
            page.status === 400 && page.code === 'PAGINATION_NUMBER_INVALID',
          );
          return;
        }
        case 4: {
          // An artifact type nothing has (up to 2 kB of junk).
          const artifactType = `application/${randomBytes(1 + (index % 1000)).toString('hex')}`;
          const page = listed(await call(referrersPath(subject.digest, { artifactType })));
          check(
            `filter ${artifactType.slice(0, 20)}`,
            page.status === 200 &&
              page.manifests.length === 0 &&
              page.next === undefined &&
              page.filtersApplied === 'artifactType',
          );
          return;
        }
        default: {
          const last = randomDigest();
          const page = listed(
            await call(
              referrersPath(subject.digest, { artifactType: SBOM, n: String(MAX_PAGE), last }),
            ),
          );
          const expected = expectedPage({ last, n: MAX_PAGE, artifactType: SBOM });
          check(
            `SBOM page after ${last}`,
            page.status === 200 &&
              page.filtersApplied === 'artifactType' &&
              JSON.stringify(page.manifests) === JSON.stringify(expected.page) &&
              (page.next !== undefined) === expected.more,
          );
        }
      }
    });
    let during: number[] = [];
    const { ms, cpuSeconds, rssBefore, rssPeak } = await measured(async () => {
      const calls = workerCalls();
      await calls.ready;
      await bounded(tasks, 40);
      during = await calls.stop();
    });
    const perRequestMs = (cpuSeconds * 1000) / tasks.length;
    const ok = report.record({
      attack: '600 mixed referrers requests, 40 at a time',
      expected: 'all right; < 20 ms CPU each; RSS +< 100 MB; others < 500 ms',
      observed: `${answered} answered, ${wrong.length} wrong (${wrong.slice(0, 3).join('; ')}); ${(ms / 1000).toFixed(1)} s, DTR CPU ${cpuSeconds.toFixed(2)} s (${perRequestMs.toFixed(1)} ms each); RSS ${mb(rssBefore)} -> peak ${mb(rssPeak)}; another user's call median ${median(baseline).toFixed(0)} ms before, ${median(during).toFixed(0)} ms during (${during.length} calls)`,
      passed:
        answered === tasks.length &&
        wrong.length === 0 &&
        perRequestMs < 20 &&
        rssPeak - rssBefore < 100 * MB &&
        during.length >= 5 &&
        // Behind up to 40 requests in flight on DTR's one event loop (a few ms of CPU each).
        median(during) < 500,
    });
    expect(ok).toBe(true);
  });

  it('a referrers tag index of just under 1 MiB, asked for 300 first pages 30 and 120 at a time', async () => {
    // Every listed manifest is recorded already (PUT indexed it): the index is what DTR reads.
    const call = await withToken(lister);
    const indexOf = (padding: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: referrers.slice(0, MAX_ADOPTED).map((referrer) => ({
          mediaType: referrer.mediaType,
          digest: referrer.digest,
          size: referrer.size,
          annotations: { padding },
        })),
      });
    // Each entry padded so that the index is within 1 kB of the largest DTR reads.
    const unpadded = Buffer.byteLength(indexOf(''));
    const index = indexOf(
      'p'.repeat(Math.floor((MAX_TAG_INDEX_BYTES - unpadded - 1024) / MAX_ADOPTED)),
    );
    expect(Buffer.byteLength(index)).toBeLessThanOrEqual(MAX_TAG_INDEX_BYTES);
    expect(Buffer.byteLength(index)).toBeGreaterThan(MAX_TAG_INDEX_BYTES - 2048);
    const tag = `sha256-${subject.digest.slice('sha256:'.length)}`;
    const put = await call(`/v2/${REPOSITORY}/manifests/${tag}`, {
      method: 'PUT',
      body: index,
      type: MediaTypes.ociIndex,
    });
    expect(put.status, put.body.toString()).toBe(201);
    let wrongAnswers = 0;
    const wave = (width: number) =>
      measured(() =>
        bounded(
          Array.from({ length: 300 }, () => async () => {
            const page = listed(await call(referrersPath(subject.digest, { n: '10' })));
            if (
              page.status !== 200 ||
              JSON.stringify(page.manifests) !== JSON.stringify(referrers.slice(0, 10))
            )
              wrongAnswers += 1;
          }),
          width,
        ),
      );
    const waves = [await wave(30), await wave(120)];
    const perRequestMs = waves.map((measure) => (measure.cpuSeconds * 1000) / 300);
    const growth = waves.map((measure) => measure.rssPeak - measure.rssBefore);
    const ok = report.record({
      attack: 'own 1 MiB referrers tag index, 300 first pages x2',
      expected: 'answers unchanged; < 30 ms CPU each; RSS +< 200 MB',
      observed: `index ${(Buffer.byteLength(index) / 1024).toFixed(0)} kB; ${wrongAnswers} wrong; ${waves
        .map(
          (measure, at) =>
            `${at === 0 ? 30 : 120} at a time: ${(measure.ms / 1000).toFixed(1)} s, DTR CPU ${(perRequestMs[at] as number).toFixed(1)} ms each, RSS ${mb(measure.rssBefore)} -> peak ${mb(measure.rssPeak)}`,
        )
        .join('; ')}`,
      passed:
        wrongAnswers === 0 &&
        perRequestMs.every((ms) => ms < 30) &&
        growth.every((bytes) => bytes < 200 * MB),
    });
    expect(ok).toBe(true);
  });

  describe('manifests of the release before, listed under the referrers tag', () => {
    // Manifests pushed before DTR recorded subjects have none recorded (NULL), and only such
    // manifests are ever read for the referrers tag: made here from the 1500 referrers, as the
    // dtr-api suite does, in DTR's own database (SQLite in WAL mode, written beside DTR).
    let database: BetterSqlite3.Database;
    const tag = () => `sha256-${subject.digest.slice('sha256:'.length)}`;
    const all = () => referrers.map((referrer) => referrer.digest);
    /** Makes `digests` manifests of the release before: no subject examined. */
    const makeLegacy = (digests: string[]) =>
      database
        .prepare(
          `UPDATE manifests SET subject_digest = NULL, artifact_type = NULL, annotations = NULL
           WHERE digest IN (SELECT value FROM json_each(?))`,
        )
        .run(JSON.stringify(digests));
    /** What DTR recorded for `digests`: the subject (NULL: never examined) and artifact type. */
    const rowsOf = (digests: string[]) =>
      database
        .prepare(
          `SELECT digest, subject_digest AS subject, artifact_type AS artifactType FROM manifests
           WHERE digest IN (SELECT value FROM json_each(?))`,
        )
        .all(JSON.stringify(digests)) as Array<{
        digest: string;
        subject: string | null;
        artifactType: string | null;
      }>;
    const putTagIndex = async (entries: OciDescriptor[], padding: string) => {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: entries.map((entry) => ({
          mediaType: entry.mediaType,
          digest: entry.digest,
          size: entry.size,
          ...(padding === '' ? {} : { annotations: { padding } }),
        })),
      });
      const put = await asUser(lister, `/v2/${REPOSITORY}/manifests/${tag()}`, {
        method: 'PUT',
        body,
        type: MediaTypes.ociIndex,
      });
      expect(put.status, put.body.toString()).toBe(201);
      return Buffer.byteLength(body);
    };
    /** The tag index's entries in an order of their own (the first 1000 are the ones read). */
    let order: OciDescriptor[];
    let indexSize = 0;
    /** A lone first request's cost (it reads the 1000), and a later request's (it reads none). */
    let lone: Measured<Listed>;
    let later: Measured<string[]>;

    beforeAll(() => {
      database = openDtrDatabase();
    });
    afterAll(() => database?.close());

    it('an index over 1 MiB is not read; of one under it, the first 1000 entries, each once', async () => {
      const call = await withToken(lister);
      const first = () => call(referrersPath(subject.digest)).then(listed);
      // An index just over 1 MiB listing all 1500 (in place of the one of the test before): not
      // read, nothing recorded.
      const overSize = await putTagIndex(
        referrers,
        'p'.repeat(Math.ceil(MAX_TAG_INDEX_BYTES / REFERRERS)),
      );
      makeLegacy(all());
      const overAnswers = await Promise.all(Array.from({ length: 20 }, first));
      const unreadOver = rowsOf(all()).filter((row) => row.subject === null).length;

      // An index of all 1500 in an order of its own, under 1 MiB: its first 1000 read, each
      // recorded with its subject and artifact type; the 500 past the cap never examined.
      order = [...referrers].sort(() => Math.random() - 0.5);
      indexSize = await putTagIndex(order, '');
      const adopted = order
        .slice(0, MAX_ADOPTED)
        .map((entry) => entry.digest)
        .sort();
      lone = await measured(first);
      const rows = rowsOf(all());
      const recordedRight = rows.filter(
        (row) =>
          adopted.includes(row.digest) &&
          row.subject === subject.digest &&
          row.artifactType ===
            referrers.find((referrer) => referrer.digest === row.digest)?.artifactType,
      ).length;
      const unreadPast = rows.filter((row) => row.subject === null).length;
      // Asked again, 100 times, 20 at a time: nothing is read but the index itself.
      later = await measured(() =>
        bounded(
          Array.from(
            { length: 100 },
            () => async () => (await first()).manifests.map((entry) => entry.digest).join(),
          ),
          20,
        ),
      );
      const laterMs = (later.cpuSeconds * 1000) / 100;
      const ok = report.record({
        attack: 'legacy referrers under a tag: > 1 MiB; 1500 listed',
        expected: '> 1 MiB not read; first 1000 read (once), 500 never',
        observed: `${(overSize / 1024).toFixed(0)} kB index: ${overAnswers.filter((answer) => answer.manifests.length === 0).length}/20 empty, ${unreadOver} unread; ${(indexSize / 1024).toFixed(0)} kB index: first request ${(lone.ms / 1000).toFixed(1)} s, ${lone.cpuSeconds.toFixed(2)} s CPU, ${mb(lone.readBytes)} read, listed ${lone.result.manifests.length}, recorded ${recordedRight}, never read ${unreadPast}; again x100: ${laterMs.toFixed(1)} ms CPU, ${(later.readBytes / 100 / 1024).toFixed(0)} kB read each`,
        passed:
          overSize > MAX_TAG_INDEX_BYTES &&
          overAnswers.every((answer) => answer.status === 200 && answer.manifests.length === 0) &&
          unreadOver === REFERRERS &&
          indexSize <= MAX_TAG_INDEX_BYTES &&
          lone.result.status === 200 &&
          JSON.stringify(lone.result.manifests.map((entry) => entry.digest)) ===
            JSON.stringify(adopted) &&
          lone.result.next === undefined &&
          recordedRight === MAX_ADOPTED &&
          unreadPast === REFERRERS - MAX_ADOPTED &&
          later.result.every((digests) => digests === adopted.join()) &&
          // A later request reads the index, not the 1000 manifests again.
          later.readBytes / 100 < indexSize + (lone.readBytes - indexSize) / 4 &&
          laterMs < 30,
      });
      expect(ok).toBe(true);
    });

    it('40 first requests at once for 1000 manifests of the release before', async () => {
      // The same 1000 unexamined again; 40 requests arrive before any has recorded them.
      expect(lone).toBeDefined();
      makeLegacy(all());
      const call = await withToken(lister);
      const burst = await measured(() =>
        Promise.all(
          Array.from({ length: 40 }, () => call(referrersPath(subject.digest)).then(listed)),
        ),
      );
      const recorded = rowsOf(all()).filter((row) => row.subject === subject.digest).length;
      // Read once, the burst costs one lone first request and 39 later ones.
      const laterRead = later.readBytes / 100;
      const laterCpu = later.cpuSeconds / 100;
      const timesRead =
        (burst.readBytes - 40 * laterRead) / Math.max(1, lone.readBytes - laterRead);
      const ok = report.record({
        attack: '40 first referrers requests at once, 1000 legacy',
        expected: 'each manifest read once: ~ 1 lone first + 39 later',
        observed: `${burst.result.filter((answer) => answer.status === 200).length}/40 answered; DTR CPU ${burst.cpuSeconds.toFixed(2)} s (lone first ${lone.cpuSeconds.toFixed(2)} s, later ${(laterCpu * 1000).toFixed(1)} ms), ${mb(burst.readBytes)} read: the 1000 read ~${timesRead.toFixed(1)} times; ${(burst.ms / 1000).toFixed(1)} s; RSS ${mb(burst.rssBefore)} -> ${mb(burst.rssPeak)}; recorded ${recorded}`,
        passed:
          burst.result.every((answer) => answer.status === 200) &&
          recorded === MAX_ADOPTED &&
          timesRead < 2 &&
          burst.cpuSeconds < 2 * lone.cpuSeconds + 40 * laterCpu + 1 &&
          burst.rssPeak - burst.rssBefore < 100 * MB,
      });
      expect(ok).toBe(true);
    });
  });
});
