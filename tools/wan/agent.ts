/**
 * The WAN chain benchmark's hands inside a site: the benchmark process cannot enter a network
 * namespace, so it starts this script there (`ip netns exec <ns> node --import tsx agent.ts …`),
 * or on this machine in loopback mode. Commands (the argument is JSON):
 *
 * - `relays [{listen, target, link}, …]`: runs those relays; prints `ready` once they listen.
 * - `probe-server {host, port}`: a link probe server (link-probe.ts); prints `ready`.
 * - `probe {targets: [{host, port}, …], samples, bytes}`: measures each target's round trips and
 *   download rate, one after another; prints the results as one JSON line.
 * - `pull {target, options}`: one timed pull (`timePull`); prints the PullTiming as one JSON line,
 *   or `{"error": {failure, message}}` and exits 1.
 *
 * The long-running commands stop on SIGTERM or when their standard input closes (the benchmark
 * holds it open: if it dies, they go too).
 */
import { PullError, type PullOptions, type PullTarget, timePull } from '@dtr-cache/pull-timer';
import { DelayRelay, type DelayRelayOptions } from './delay-relay';
import { measureRoundTrips, measureThroughput, startProbeServer } from './link-probe';

/** Stops `close` on SIGTERM, SIGINT or the end of standard input, then exits. */
function runUntilStopped(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.stdout.write('ready\n');
}

async function relays(specs: DelayRelayOptions[]): Promise<void> {
  const started = await Promise.all(specs.map((spec) => DelayRelay.start(spec)));
  runUntilStopped(async () => {
    await Promise.all(started.map((relay) => relay.close()));
  });
}

async function probeServer(spec: { host: string; port: number }): Promise<void> {
  const server = await startProbeServer(spec.host, spec.port);
  // (Stopping does not wait for a connection a probe left open: the process exits.)
  runUntilStopped(async () => {
    server.close();
  });
}

interface ProbeSpec {
  readonly targets: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly samples: number;
  readonly bytes: number;
}

async function probe(spec: ProbeSpec): Promise<void> {
  const results = [];
  for (const target of spec.targets) {
    const roundTripsMs = await measureRoundTrips(target.host, target.port, spec.samples);
    const throughput = await measureThroughput(target.host, target.port, spec.bytes);
    results.push({ ...target, roundTripsMs, mbitPerSecond: throughput.mbitPerSecond });
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

async function pull(spec: { target: PullTarget; options: PullOptions }): Promise<void> {
  try {
    const timing = await timePull(spec.target, spec.options);
    process.stdout.write(`${JSON.stringify(timing)}\n`);
  } catch (error) {
    const failure = error instanceof PullError ? error.failure : 'unexpected';
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(`${JSON.stringify({ error: { failure, message } })}\n`);
    process.exitCode = 1;
  }
}

const [command, argument = '{}'] = process.argv.slice(2);
const spec: unknown = JSON.parse(argument);
switch (command) {
  case 'relays':
    await relays(spec as DelayRelayOptions[]);
    break;
  case 'probe-server':
    await probeServer(spec as { host: string; port: number });
    break;
  case 'probe':
    await probe(spec as ProbeSpec);
    break;
  case 'pull':
    await pull(spec as { target: PullTarget; options: PullOptions });
    break;
  default:
    process.stderr.write(`usage: agent.ts relays|probe-server|probe|pull <json>\n`);
    process.exit(2);
}
