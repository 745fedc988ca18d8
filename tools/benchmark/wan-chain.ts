/**
 * The WAN chain benchmark: the seeds' topology across simulated links, pulling a 200 MB image of
 * 10 layers as docker does — directly from DTR, then through chains of 1 to 4 caches (2 is the
 * seeds' los-angeles → san-francisco → DTR), each cold (every cache on an empty store) and warm —
 * beside what one authorization round trip to DTR per blob per hop (DTR 2.x caches) would add,
 * from the measured round trips. How the network is simulated: tools/wan/wan-plan.ts and
 * docs/performance.md.
 *
 *   npm run bench:wan [-- --quick] [--out file.json] [--loopback] [--depths 1,2,3,4]
 *                     [--timeout-minutes M] [--keep]
 *
 * --quick: a 20 MB image (a smoke run). --loopback: relays on loopback even where network
 * namespaces are available. --depths: the chains to pull through (each cold, then warm).
 * --keep: keep the run's folder (the servers' logs; a failed run keeps it anyway). Writes
 * artifacts/bench-wan.json (or --out) and prints the tables.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { workspaceRoot } from '../topology/topology';
import { DEPTHS, type Depth, type ServerSite, type SiteName } from '../wan/chain-plan';
import { ChainPulls } from '../wan/chain-pulls';
import { measureLinks } from '../wan/link-measures';
import { buildNetwork, namespaceOf, namespacesAvailable, removeLeftovers } from '../wan/namespaces';
import { loopbackPlan, namespacesPlan, type WanPlan } from '../wan/wan-plan';
import { claimRun, RunProcesses, type StartSpec } from '../wan/wan-processes';
import {
  conclusionsOf,
  conclusionText,
  type LinkMeasure,
  linkTable,
  runTable,
} from '../wan/wan-report';
import { type PushedImage, WanServers } from '../wan/wan-servers';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    loopback: { type: 'boolean', default: false },
    depths: { type: 'string', default: DEPTHS.join(',') },
    'timeout-minutes': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const QUICK = args.quick;
const LAYERS = 10;
/** Each layer: 20 MB (10^6 bytes), 2 MB with --quick. */
const LAYER_BYTES = (QUICK ? 2 : 20) * 1_000_000;
/** Blobs downloaded at once, as docker does. */
const CONCURRENCY = 3;
const PROBE_SAMPLES = 7;
const PROBE_BYTES = (QUICK ? 4 : 16) * 1024 * 1024;
/** The chain depths to pull through (each cold, then warm). */
const RUN_DEPTHS = args.depths.split(',').map(Number) as Depth[];
const TIMEOUT_MS = Number(args['timeout-minutes'] ?? (QUICK ? 10 : 30)) * 60_000;
const OUT = resolve(args.out ?? join(workspaceRoot, 'artifacts', 'bench-wan.json'));
const AGENT = join(workspaceRoot, 'tools', 'wan', 'agent.ts');
if (RUN_DEPTHS.some((depth) => !DEPTHS.includes(depth)))
  throw new Error(`--depths: a list of ${DEPTHS.join(', ')}`);

const started = Date.now();
function log(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`bench:wan ${seconds}s ${message}\n`);
}

/** Everything the run has set up, torn down by {@link tearDown} whatever happens. */
const run: { processes?: RunProcesses; work?: string; failed?: boolean; tornDown: boolean } = {
  tornDown: false,
};

/** Synchronous, so that it also runs from the exit handler: kill by id, delete what was made. */
function tearDownNow(): void {
  // Nothing to tear down before this run has claimed its state (another run may own the network).
  if (run.tornDown || !run.processes) return;
  run.tornDown = true;
  run.processes?.killNow();
  for (const removed of removeLeftovers()) log(`removed ${removed}`);
  // A failed run keeps its folder: the servers' logs say why.
  if (run.work && (args.keep || run.failed)) log(`kept ${run.work} (the servers' logs)`);
  else if (run.work) rmSync(run.work, { recursive: true, force: true });
  run.processes?.release();
}

async function tearDown(): Promise<void> {
  if (!run.tornDown) await run.processes?.stopAll(5000);
  tearDownNow();
}

const stopOn = (reason: string, code: number) => {
  log(`${reason}: tearing down`);
  run.failed = true;
  void tearDown().finally(() => process.exit(code));
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => stopOn(signal, 130));
process.on('exit', tearDownNow);

const agent = (command: string, spec: unknown) => [
  process.execPath,
  '--import',
  'tsx',
  AGENT,
  command,
  JSON.stringify(spec),
];

async function main(): Promise<void> {
  for (const cleaned of claimRun()) log(`cleaned after a crashed run: ${cleaned}`);
  const work = mkdtempSync(join(tmpdir(), 'dtrwan-'));
  run.work = work;
  const processes = new RunProcesses(work);
  run.processes = processes;
  for (const removed of removeLeftovers()) log(`cleaned after a crashed run: ${removed}`);
  const namespaces = args.loopback
    ? { available: false, reason: '--loopback' }
    : namespacesAvailable();
  const plan = namespaces.available ? namespacesPlan() : loopbackPlan();
  log(
    plan.mode === 'namespaces'
      ? 'mode: network namespaces (tbf shapes the rates, relays add the delays)'
      : `mode: loopback relays (they add both delays and rates): ${namespaces.reason}`,
  );
  const inSite = (site: SiteName) => (plan.mode === 'namespaces' ? namespaceOf(site) : undefined);
  const spec = (name: string, site: SiteName, command: string, body: unknown): StartSpec => ({
    name,
    namespace: inSite(site),
    argv: agent(command, body),
    logFile: join(work, `${name}.log`),
    cwd: workspaceRoot,
  });

  if (plan.mode === 'namespaces') {
    log('building the namespaces, veths and tbf queues');
    buildNetwork(plan);
  }
  log('starting the relays');
  for (const site of new Set(plan.relays.map((relay) => relay.site)))
    await processes.startReady(
      spec(
        `relays-${site}`,
        site,
        'relays',
        plan.relays
          .filter((relay) => relay.site === site)
          .map(({ listen, target, link }) => ({ listen, target, link })),
      ),
    );

  log('measuring the links');
  const links = await measureLinks(plan, processes, spec, {
    samples: PROBE_SAMPLES,
    bytes: PROBE_BYTES,
  });
  process.stdout.write(
    `\nLinks (${plan.mode}), asked vs measured through each relay before the pulls:\n\n${linkTable(links)}\n`,
  );
  const rttOf = (from: SiteName, to: ServerSite) => {
    const measured = links.find((link) => link.from === from && link.to === to);
    if (!measured) throw new Error(`no measured link ${from} → ${to}`);
    return measured.medianRoundTripMs;
  };

  const servers = new WanServers(plan, processes, work);
  log('starting DTR, creating the user, pushing the image');
  await servers.startDtr();
  await servers.createUser();
  const image = await servers.pushImage(LAYERS, LAYER_BYTES);
  log(`pushed ${image.reference}: ${image.blobs} blobs, ${(image.bytes / 1e6).toFixed(1)} MB`);

  const pulls = new ChainPulls({
    plan,
    processes,
    servers,
    spec,
    image,
    concurrency: CONCURRENCY,
    rttOf,
    log,
  });
  await pulls.run(RUN_DEPTHS);
  report(plan, image, links, pulls);
}

function report(
  plan: WanPlan,
  image: PushedImage,
  links: readonly LinkMeasure[],
  { rows, pulls, retries }: ChainPulls,
): void {
  const conclusions = conclusionsOf(rows);
  const summary = {
    mode: plan.mode,
    quick: QUICK,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    image: { ...image, layers: LAYERS, layerBytes: LAYER_BYTES },
    concurrency: CONCURRENCY,
    links,
    runs: rows,
    conclusions,
    retries,
    pulls,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(
    `\nPulls of ${image.reference} (${image.blobs} blobs, ${(image.bytes / 1e6).toFixed(0)} MB, ${CONCURRENCY} at a time) from the office (${plan.mode}):\n\n${runTable(rows)}\n\n${conclusionText(conclusions, Math.max(...rows.map((each) => each.depth)))}\n`,
  );
  for (const retry of retries)
    process.stdout.write(`(${retry.what} was measured twice: ${retry.error})\n`);
  log(`wrote ${OUT}`);
}

const deadline = setTimeout(() => stopOn(`over ${TIMEOUT_MS / 60_000} minutes`, 1), TIMEOUT_MS);
try {
  await main();
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
  run.failed = true;
} finally {
  clearTimeout(deadline);
  await tearDown();
}
