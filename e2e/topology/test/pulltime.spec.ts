/**
 * `dtr-pulltime` (apps/pulltime) against the process topology, run as a user runs it: the routes
 * it measures (direct and every cache, the caches named in their order, one named cache, each
 * member of the group region-us), each cache cold then warm (or warm at once when its upstream
 * cache's fill already brought it the blobs) as the caches' own logs have it, the JSON it writes,
 * and one line with the right exit code for each bad input. The demo user's setting (los-angeles)
 * stays as it was.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  basic,
  deadUrl,
  type OciImage,
  type RunningTopology,
  startTopology,
  workspaceRoot,
  writeOciImage,
} from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PullJson, type ReportJson, type RouteJson, runPulltime } from './pulltime-command';

const run = promisify(execFile);

describe('dtr-pulltime against the process topology', () => {
  let topology: RunningTopology;
  let work: string;
  let dtr: string;
  let password: string;
  let cas: string[];
  const images: Record<'all' | 'chain' | 'one' | 'members', OciImage> = {} as never;

  /** Runs the command with `args`, the demo user's password in DTR_PASSWORD. */
  const pulltime = (
    args: string[],
    options: { env?: Record<string, string>; stdin?: string } = {},
  ) =>
    runPulltime(args, {
      cwd: work,
      env: { DTR_PASSWORD: password, ...options.env },
      stdin: options.stdin,
    });
  const common = (image: string) => [
    '--dtr',
    dtr,
    '--user',
    'demo',
    '--image',
    image,
    ...cas.flatMap((file) => ['--ca', file]),
  ];
  const blobsOf = (image: OciImage) => [image.config, ...image.layers];
  /** Every blob of a pull with `result`, served by one of `servers`, in manifest order. */
  const expectPull = (pull: PullJson, image: OciImage, result: string, servers: string[]) => {
    expect(pull.blobs.map((blob) => blob.digest)).toEqual(blobsOf(image));
    for (const blob of pull.blobs) {
      expect(blob.result, blob.digest).toBe(result);
      expect(servers).toContain(blob.servedBy);
    }
    expect(pull.counts[result]).toBe(pull.blobs.length);
  };
  const membersOf = (cache: string) =>
    topology.endpoints.caches[cache]?.members.map((member) => member.url) ?? [];

  beforeAll(async () => {
    // Installs Debian's skopeo if this machine lacks it (idempotent; needs root and apt).
    await run(process.execPath, [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'skopeo'], {
      timeout: 300_000,
    });
    topology = await startTopology('127.0.0.180');
    work = await mkdtemp(join(tmpdir(), 'dtr-pulltime-'));
    dtr = topology.endpoints.dtr.url;
    const { demo } = topology.endpoints.users;
    password = demo.password;
    const certs = topology.endpoints.clientCertDir;
    cas = ['dtr', 'san-francisco', 'los-angeles'].map((name) => join(certs, `${name}-ca.crt`));
    for (const name of ['all', 'chain', 'one', 'members'] as const) {
      images[name] = await writeOciImage(join(work, name), 'v1', 3, 300_000);
      await topology.push(join(work, name), `demo/pulltime:${name}`, `demo:${password}`);
    }
  });

  afterAll(async () => {
    await topology?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('measures direct and every registered cache, each cold then warm unless already warm, and writes JSON', async () => {
    const result = await pulltime([...common('demo/pulltime:all'), '--json', 'report.json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(await readFile(join(work, 'report.json'), 'utf8')) as ReportJson;
    const listing = await topology.call(`${dtr}/api/v0/content_caches`, {
      auth: basic(topology.endpoints.users.demo),
    });
    const registered = (
      JSON.parse(listing.body.toString()) as { contentCaches: Array<{ name: string }> }
    ).contentCaches.map((cache) => cache.name);
    expect(registered.toSorted()).toEqual(['los-angeles', 'region-us', 'san-francisco']);
    expect(report.routes.map((route) => route.name)).toEqual(['direct', ...registered]);
    expect(report.routes.map((route) => route.route)).toEqual(['none', ...registered]);

    const image = images.all;
    const route = (name: string) => report.routes.find((entry) => entry.name === name) as RouteJson;
    const passes = (name: string) => route(name).pulls.map((pull) => pull.pass);
    expect(passes('direct')).toEqual(['cold', 'warm']);
    for (const pull of route('direct').pulls) expectPull(pull, image, 'origin', [dtr]);
    // DTR lists the caches by name: los-angeles is measured before san-francisco, and its misses
    // fill through san-francisco (its upstream), which is then warm at its first pull.
    expect(registered.indexOf('los-angeles')).toBeLessThan(registered.indexOf('san-francisco'));
    for (const name of ['los-angeles', 'region-us']) {
      expect(route(name).error, name).toBeNull();
      expect(passes(name)).toEqual(['cold', 'warm']);
      const [cold, warm] = route(name).pulls as [PullJson, PullJson];
      expectPull(cold, image, 'miss', membersOf(name));
      expectPull(warm, image, 'hit', membersOf(name));
    }
    expect(passes('san-francisco')).toEqual(['warm']);
    expectPull(
      route('san-francisco').pulls[0] as PullJson,
      image,
      'hit',
      membersOf('san-francisco'),
    );
    // What the caches logged for each blob (region-us: on the member DTR chose for the digest).
    for (const digest of blobsOf(image)) {
      await expect
        .poll(() => topology.cacheResults('los-angeles', digest), { timeout: 10_000 })
        .toEqual(['miss', 'hit']);
      await expect
        .poll(() => topology.cacheResults('san-francisco', digest), { timeout: 10_000 })
        .toEqual(['miss', 'hit']);
      const regionUs = async () =>
        [
          ...(await topology.cacheResults('region-us', digest)),
          ...(await topology.cacheResults('region-us-2', digest)),
        ].toSorted();
      await expect.poll(regionUs, { timeout: 10_000 }).toEqual(['hit', 'miss']);
    }

    // The JSON shape docs/pull-times.md describes.
    expect(report).toMatchObject({
      dtr,
      user: 'demo',
      image: 'demo/pulltime:all',
      platform: 'linux/amd64',
      concurrency: 3,
      failed: 0,
    });
    expect(Date.parse(report.startedAt)).not.toBeNaN();
    const sizes = blobsOf(image).map(
      (digest) => route('direct').pulls[0]?.blobs.find((blob) => blob.digest === digest)?.size ?? 0,
    );
    for (const entry of report.routes)
      for (const pull of entry.pulls) {
        expect(Object.keys(pull).toSorted()).toEqual(
          [
            'pass',
            'counts',
            'route',
            'image',
            'startedAt',
            'manifestMs',
            'firstByteMs',
            'totalMs',
            'bytes',
            'megabytesPerSecond',
            'blobs',
          ].toSorted(),
        );
        expect(pull.bytes).toBe(sizes.reduce((sum, size) => sum + size, 0));
        expect(pull.megabytesPerSecond).toBeCloseTo(pull.bytes / 1000 / pull.totalMs, 6);
        expect(pull.manifestMs).toBeLessThanOrEqual(pull.firstByteMs);
        expect(pull.firstByteMs).toBeLessThanOrEqual(pull.totalMs);
        for (const blob of pull.blobs) expect(blob.firstByteMs).toBeLessThanOrEqual(blob.totalMs);
      }
    const lastPulls = report.routes.map((entry) => entry.pulls.at(-1) as PullJson);
    const quickest = Math.min(...lastPulls.map((pull) => pull.totalMs));
    expect(report.fastest?.totalMs).toBe(quickest);
    expect(report.fastest?.pass).toBe('warm');

    // The table: a heading, a row per pull, and the fastest route.
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^route\s+pass\s+total s\s+MB\/s\s+first byte ms\s+hit\s+miss\s+/);
    const pullCount = report.routes.reduce((sum, entry) => sum + entry.pulls.length, 0);
    expect(lines).toHaveLength(1 + pullCount + 1);
    for (const entry of report.routes)
      for (const pull of entry.pulls)
        expect(
          lines.filter(
            (line) => line.startsWith(`${entry.name} `) && line.includes(` ${pull.pass} `),
          ),
          `${entry.name} ${pull.pass}`,
        ).toHaveLength(1);
    expect(lines.at(-1)).toMatch(new RegExp(`^fastest: ${report.fastest?.name} \\(warm, `));

    // Measuring changed nobody's setting.
    const settings = await topology.call(`${dtr}/api/v0/accounts/demo/settings`, {
      auth: basic(topology.endpoints.users.demo),
    });
    expect(JSON.parse(settings.body.toString())).toMatchObject({ contentCache: 'los-angeles' });
  });

  it('measures the caches named, in that order: san-francisco, then los-angeles through it', async () => {
    const result = await pulltime([
      ...common('demo/pulltime:chain'),
      '--cache',
      'san-francisco',
      '--cache',
      'los-angeles',
      '--json',
      '-',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ReportJson;
    expect(report.routes.map((route) => route.name)).toEqual([
      'direct',
      'san-francisco',
      'los-angeles',
    ]);
    for (const route of report.routes.slice(1)) {
      expect(route.pulls.map((pull) => pull.pass)).toEqual(['cold', 'warm']);
      const [cold, warm] = route.pulls as [PullJson, PullJson];
      expectPull(cold, images.chain, 'miss', membersOf(route.name));
      expectPull(warm, images.chain, 'hit', membersOf(route.name));
    }
    // los-angeles's misses were filled from san-francisco's disk.
    for (const digest of blobsOf(images.chain))
      await expect
        .poll(() => topology.cacheResults('san-francisco', digest), { timeout: 10_000 })
        .toEqual(['miss', 'hit', 'hit']);
  });

  it('measures one named cache, the password read from stdin, the JSON on stdout', async () => {
    const result = await pulltime(
      [...common('demo/pulltime:one'), '--cache', 'los-angeles', '--password-stdin', '--json', '-'],
      { env: { DTR_PASSWORD: '' }, stdin: `${password}\n` },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ReportJson;
    expect(report.routes.map((route) => route.name)).toEqual(['direct', 'los-angeles']);
    const [cold, warm] = report.routes[1]?.pulls as [PullJson, PullJson];
    expectPull(cold, images.one, 'miss', membersOf('los-angeles'));
    expectPull(warm, images.one, 'hit', membersOf('los-angeles'));
    for (const digest of blobsOf(images.one))
      expect(await topology.cacheResults('region-us', digest)).toEqual([]);
  });

  it('measures each member of the group region-us with --members', async () => {
    const result = await pulltime([
      ...common('demo/pulltime:members'),
      '--cache',
      'region-us',
      '--members',
      '--json',
      '-',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as ReportJson;
    const members = membersOf('region-us');
    expect(members).toHaveLength(2);
    expect(report.routes.map((route) => [route.name, route.route, route.member])).toEqual([
      ['direct', 'none', null],
      ...members.map((member) => [`region-us ${member}`, `region-us; member=${member}`, member]),
    ]);
    for (const route of report.routes.slice(1)) {
      const [cold, warm] = route.pulls as [PullJson, PullJson];
      expectPull(cold, images.members, 'miss', [route.member as string]);
      expectPull(warm, images.members, 'hit', [route.member as string]);
    }
  });

  it('gives one line and exit code 2 for bad arguments or an unknown cache', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--bogus', ...common('demo/pulltime:all')], /^dtr-pulltime: unknown option --bogus/],
      [
        common('demo/pulltime:all').filter((arg) => arg !== '--image' && !arg.startsWith('demo/')),
        /^dtr-pulltime: --image is required/,
      ],
      [
        [...common('demo/pulltime:all'), '--cache', 'tokyo'],
        /^dtr-pulltime: no cache named tokyo \(registered: (?=.*region-us)(?=.*san-francisco)(?=.*los-angeles).*\)$/,
      ],
    ];
    for (const [args, line] of cases) {
      const result = await pulltime(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(line);
      expect(result.stdout).toBe('');
    }
  });

  it('gives one line and exit code 1 for a wrong password, an unreachable DTR or an unknown image', async () => {
    const dead = await deadUrl();
    const cases: Array<[string[], Record<string, string>, string | RegExp]> = [
      [
        common('demo/pulltime:all'),
        { DTR_PASSWORD: 'not-the-password' },
        `dtr-pulltime: wrong credentials for demo at ${dtr}`,
      ],
      [
        [...common('demo/pulltime:all').slice(2), '--dtr', dead],
        {},
        new RegExp(`^dtr-pulltime: DTR ${dead} is unreachable: connect ECONNREFUSED`),
      ],
      [
        common('demo/pulltime:nothing'),
        {},
        /^dtr-pulltime: .*demo\/pulltime:nothing.*MANIFEST_UNKNOWN/,
      ],
    ];
    for (const [args, env, line] of cases) {
      const result = await pulltime(args, { env });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(line);
      expect(result.stdout).toBe('');
    }
  });
});
