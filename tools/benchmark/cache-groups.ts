/**
 * Benchmark of chaining into a cache group: what the origin serves and the group stores when three
 * offices, each a cache of its own, are chained into a regional group of three members and three
 * clients (one per office) pull the same 30 blobs at the same time — with `upstreampolicy: digest`
 * and with `roundrobin` (the documented default), side by side in one run. Each client takes the
 * blobs in an order of its own (see {@link pullAll}). Counts come from DTR's access log (blob GETs
 * it answered with the bytes) and the members' disks.
 *
 *   npm run bench:groups     (writes artifacts/groups-benchmark.json and prints a table)
 *
 * Environment: BENCH_ROUNDS, rounds with new blobs (default 3); BENCH_BLOB_KIB, each blob's size
 * (default 1024); BENCH_CONCURRENCY, each client's downloads at a time (default 3, as docker's).
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobRequests, type RunningFleet, startCacheFleet } from '@dtr-cache/test-support';
import { workspaceRoot as root } from '../topology/topology';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BLOB_SIZE = Number(process.env['BENCH_BLOB_KIB'] ?? 1024) * 1024;
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 3);
const BLOBS = 30;
const CLIENTS = 3;
const POLICIES = ['digest', 'roundrobin'] as const;
type Policy = (typeof POLICIES)[number];

const groupOf = (policy: Policy) => `regional-${policy}`;
const officeOf = (policy: Policy, client: number) => `office-${policy}-${client + 1}`;
const userOf = (policy: Policy, client: number) => `${policy.slice(0, 1)}${client + 1}`;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** The fleet: per policy a regional group of three and three offices chained into it. */
function fleetLayout() {
  const address = (index: number) => `127.0.0.${171 + index}`;
  return POLICIES.flatMap((policy, policyIndex) => {
    const base = policyIndex * 6;
    return [
      {
        name: groupOf(policy),
        members: [0, 1, 2].map((member) => address(base + member)),
        registered: false,
      },
      ...[0, 1, 2].map((client) => ({
        name: officeOf(policy, client),
        members: [address(base + 3 + client)],
        upstream: groupOf(policy),
        upstreamPolicy: policy,
      })),
    ];
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Uploads `content` to `repository` in one request (monolithic upload). */
async function upload(fleet: RunningFleet, user: string, repository: string, content: Buffer) {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const answer = await fetch(
    `${fleet.dtrUrl}/v2/${repository}/blobs/uploads/?digest=${encodeURIComponent(digest)}`,
    {
      method: 'POST',
      headers: {
        authorization: basic(user, fleet.userPassword),
        'content-type': 'application/octet-stream',
      },
      body: content,
    },
  );
  if (answer.status !== 201) throw new Error(`upload answered ${answer.status}`);
  return digest;
}

/** `values` in a random order (Fisher–Yates). */
function shuffled<Value>(values: readonly Value[]): Value[] {
  const result = [...values];
  for (let index = result.length - 1; index > 0; index -= 1) {
    const other = randomInt(index + 1);
    [result[index], result[other]] = [result[other] as Value, result[index] as Value];
  }
  return result;
}

/**
 * One client's pull of `digests` through DTR's redirects, `CONCURRENCY` at a time, each checked,
 * in an order of its own: offices are independent, so their round-robin positions are too (the
 * same order in every office would keep them in step, and round-robin would look like `digest`).
 */
async function pullAll(fleet: RunningFleet, user: string, digests: readonly string[]) {
  const queue = shuffled(digests);
  const worker = async () => {
    for (let digest = queue.shift(); digest !== undefined; digest = queue.shift()) {
      const answer = await fetch(`${fleet.dtrUrl}/v2/${user}/app/blobs/${digest}`, {
        headers: { authorization: basic(user, fleet.userPassword) },
      });
      const body = Buffer.from(await answer.arrayBuffer());
      const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (answer.status !== 200 || got !== digest)
        throw new Error(`${user}: ${digest} answered ${answer.status} with ${got}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

interface RoundResult {
  readonly seconds: number;
  /** Blob GETs the group's members answered (the offices' fills). */
  readonly groupGets: number;
  readonly originGets: number;
  readonly originBytes: number;
  readonly storedCopies: number;
  readonly groupDiskBytes: number;
}

async function round(fleet: RunningFleet, policy: Policy): Promise<RoundResult> {
  const blobs = Array.from({ length: BLOBS }, () => randomBytes(BLOB_SIZE));
  const digests: string[] = [];
  for (const [index, content] of blobs.entries()) {
    for (let client = 0; client < CLIENTS; client += 1) {
      const user = userOf(policy, client);
      const digest = await upload(fleet, user, `${user}/app`, content);
      if (client === 0) digests[index] = digest;
    }
  }
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CLIENTS }, (_, client) => pullAll(fleet, userOf(policy, client), digests)),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let originGets = 0;
  let originBytes = 0;
  for (let client = 0; client < CLIENTS; client += 1) {
    const traffic = await fleet.originTraffic(`${userOf(policy, client)}/app`, digests);
    originGets += traffic.gets;
    originBytes += traffic.bytes;
  }
  const wanted = new Set(digests);
  let groupGets = 0;
  for (let member = 0; member < 3; member += 1)
    groupGets += blobRequests(await fleet.memberLog(groupOf(policy), member)).filter(
      (request) => request.method === 'GET' && wanted.has(request.digest),
    ).length;
  const storedCopies = digests.reduce(
    (sum, digest) => sum + fleet.holders(groupOf(policy), digest).length,
    0,
  );
  return {
    seconds,
    groupGets,
    originGets,
    originBytes,
    storedCopies,
    groupDiskBytes: storedCopies * BLOB_SIZE,
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const MiB = 1024 * 1024;

function printTable(results: Record<Policy, RoundResult[]>): void {
  const rows = [
    ['', ...POLICIES],
    ...(
      [
        ['blob GETs at the group (per round)', (r: RoundResult) => String(r.groupGets)],
        ['origin blob GETs (per round)', (r: RoundResult) => String(r.originGets)],
        ['origin MiB (per round)', (r: RoundResult) => (r.originBytes / MiB).toFixed(1)],
        ['copies in the group (per round)', (r: RoundResult) => String(r.storedCopies)],
        ['group disk MiB (per round)', (r: RoundResult) => (r.groupDiskBytes / MiB).toFixed(1)],
        ['3 clients, wall seconds', (r: RoundResult) => r.seconds.toFixed(2)],
      ] as const
    ).map(([label, cell]) => [
      label,
      ...POLICIES.map((policy) => results[policy].map(cell).join(' / ')),
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows)
    process.stdout.write(
      `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |\n`,
    );
}

async function main(): Promise<void> {
  const users = POLICIES.flatMap((policy) =>
    Array.from({ length: CLIENTS }, (_, client) => ({
      name: userOf(policy, client),
      cache: officeOf(policy, client),
    })),
  );
  log('starting DTR, two regional groups of three and six offices');
  const fleet = await startCacheFleet({ dtrHost: '127.0.0.170', caches: fleetLayout(), users });
  try {
    const results: Record<Policy, RoundResult[]> = { digest: [], roundrobin: [] };
    for (let index = 0; index < ROUNDS; index += 1) {
      for (const policy of POLICIES) {
        const result = await round(fleet, policy);
        log(`round ${index + 1} ${policy}: ${JSON.stringify(result)}`);
        results[policy].push(result);
      }
    }
    const summary = {
      blobs: BLOBS,
      blobBytes: BLOB_SIZE,
      clients: CLIENTS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      results,
      medians: Object.fromEntries(
        POLICIES.map((policy) => [
          policy,
          {
            originGets: median(results[policy].map((r) => r.originGets)),
            originBytes: median(results[policy].map((r) => r.originBytes)),
            storedCopies: median(results[policy].map((r) => r.storedCopies)),
          },
        ]),
      ),
    };
    mkdirSync(join(root, 'artifacts'), { recursive: true });
    writeFileSync(
      join(root, 'artifacts', 'groups-benchmark.json'),
      `${JSON.stringify(summary, null, 2)}\n`,
    );
    process.stdout.write(
      `\n${BLOBS} blobs of ${BLOB_SIZE / 1024} KiB pulled by ${CLIENTS} clients at once, each through its own office cache chained into a regional group of 3 (rounds: ${ROUNDS}, each value per round)\n\n`,
    );
    printTable(results);
  } finally {
    await fleet.dispose();
  }
}

await main();
