/**
 * The network namespaces of the WAN chain benchmark: one per site, a veth pair per link with tbf
 * at the link's rate at each end, a management veth from this (the root) namespace to each
 * server site, and the addresses the {@link WanPlan} names. Every name starts with
 * {@link PREFIX}, so what a crashed run left behind is found and removed by the next
 * ({@link removeLeftovers}). Needs root, `ip` and `tc`.
 */
import { execFileSync } from 'node:child_process';
import { LINKS, type ServerSite, SERVER_SITES, SITES, siteOf, type SiteName } from './chain-plan';
import { linkAddresses, managementAddresses, publicAddress, type WanPlan } from './wan-plan';

/** Every namespace and root-namespace interface the benchmark creates starts with this. */
export const PREFIX = 'dtrwan-';

export const namespaceOf = (site: SiteName) => `${PREFIX}${siteOf(site).short}`;

/** A site's end of the link to `peer`: `to-<peer>` (names are per namespace). */
const interfaceTo = (peer: SiteName) => `to-${siteOf(peer).short}`;

/**
 * tbf's bucket: at least 64 KiB (a veth passes segments of up to 64 KiB; tbf splits larger ones)
 * and 2 ms at the rate. The queue holds 20 ms of it.
 */
export function tbfArguments(mbit: number): string[] {
  const burstBytes = Math.max(64 * 1024, Math.ceil((mbit * 1e6) / 8 / 500));
  return ['tbf', 'rate', `${mbit}mbit`, 'burst', String(burstBytes), 'latency', '20ms'];
}

/** The `ip`/`tc` commands that build the plan's network (each an argv, program first). */
export function networkCommands(plan: WanPlan): string[][] {
  const commands: string[][] = [];
  const inSite = (site: SiteName, ...args: string[]) => [
    args[0] as string,
    '-n',
    namespaceOf(site),
    ...args.slice(1),
  ];
  for (const site of SITES) {
    commands.push(['ip', 'netns', 'add', namespaceOf(site.name)]);
    commands.push(inSite(site.name, 'ip', 'link', 'set', 'lo', 'up'));
  }
  const loopbackAddresses = new Set<string>();
  const onLoopback = (site: SiteName, address: string) => {
    if (loopbackAddresses.has(`${site} ${address}`)) return;
    loopbackAddresses.add(`${site} ${address}`);
    commands.push(inSite(site, 'ip', 'addr', 'add', `${address}/32`, 'dev', 'lo'));
  };
  for (const site of SERVER_SITES) onLoopback(site, publicAddress(site));
  for (const relay of plan.relays) onLoopback(relay.site, relay.listen.host);
  for (const [index, link] of LINKS.entries()) {
    const ends = linkAddresses(index);
    commands.push([
      'ip',
      'link',
      'add',
      interfaceTo(link.b),
      'netns',
      namespaceOf(link.a),
      'type',
      'veth',
      'peer',
      'name',
      interfaceTo(link.a),
      'netns',
      namespaceOf(link.b),
    ]);
    for (const [site, peer, address] of [
      [link.a, link.b, ends.a],
      [link.b, link.a, ends.b],
    ] as const) {
      commands.push(inSite(site, 'ip', 'addr', 'add', `${address}/30`, 'dev', interfaceTo(peer)));
      commands.push(inSite(site, 'ip', 'link', 'set', interfaceTo(peer), 'up'));
      commands.push(
        inSite(
          site,
          'tc',
          'qdisc',
          'add',
          'dev',
          interfaceTo(peer),
          'root',
          ...tbfArguments(link.mbit),
        ),
      );
    }
  }
  for (const site of SERVER_SITES) {
    const addresses = managementAddresses(site);
    const rootEnd = managementInterface(site);
    commands.push(
      [
        'ip',
        'link',
        'add',
        rootEnd,
        'type',
        'veth',
        'peer',
        'name',
        'mgmt',
        'netns',
        namespaceOf(site),
      ],
      ['ip', 'addr', 'add', `${addresses.root}/30`, 'dev', rootEnd],
      ['ip', 'link', 'set', rootEnd, 'up'],
      inSite(site, 'ip', 'addr', 'add', `${addresses.site}/30`, 'dev', 'mgmt'),
      inSite(site, 'ip', 'link', 'set', 'mgmt', 'up'),
    );
  }
  return commands;
}

/** The root namespace's end of a server site's management veth. */
export const managementInterface = (site: ServerSite) => `${PREFIX}${siteOf(site).short}`;

function run(argv: readonly string[]): string {
  return execFileSync(argv[0] as string, argv.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Whether this process can make network namespaces (root, `ip netns` works): tried with a
 * namespace that is removed at once.
 */
export function namespacesAvailable(): { available: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { available: false, reason: 'not running as root' };
  const probe = `${PREFIX}probe`;
  try {
    run(['ip', 'netns', 'add', probe]);
    run(['ip', 'netns', 'del', probe]);
    return { available: true };
  } catch (error) {
    return {
      available: false,
      reason: `ip netns add failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    };
  }
}

/** Builds the network. @throws Error naming the command that failed (the caller tears down). */
export function buildNetwork(plan: WanPlan): void {
  for (const argv of networkCommands(plan)) {
    try {
      run(argv);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${argv.join(' ')} failed: ${stderr.trim()}`, { cause: error });
    }
  }
}

/** The benchmark's namespaces and root interfaces present now (this run's or a crashed one's). */
export function leftovers(): { namespaces: string[]; interfaces: string[] } {
  const namespaces = run(['ip', 'netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(PREFIX));
  const interfaces = run(['ip', '-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(PREFIX));
  return { namespaces, interfaces };
}

/**
 * Removes every namespace and interface named with {@link PREFIX}: first the processes still
 * inside those namespaces (all started by this benchmark: the namespaces are its own) are killed
 * by their ids, then the namespaces are deleted (their veths go with them), then any root-side
 * interface left (a veth goes when either end's namespace does). Synchronous, so it also runs from an exit handler. Returns what it removed.
 */
export function removeLeftovers(): string[] {
  if (process.getuid?.() !== 0) return [];
  const removed: string[] = [];
  let found: ReturnType<typeof leftovers>;
  try {
    found = leftovers();
  } catch {
    return removed; // no `ip`: nothing of ours can exist
  }
  for (const namespace of found.namespaces) {
    const pids = tryRun(['ip', 'netns', 'pids', namespace])
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    // A namespace is freed once its last process has exited: give the kills a moment.
    for (
      let attempt = 0;
      attempt < 50 && tryRun(['ip', 'netns', 'pids', namespace]).trim();
      attempt += 1
    )
      execFileSync('sleep', ['0.1']);
    tryRun(['ip', 'netns', 'del', namespace]);
    removed.push(`namespace ${namespace}`);
  }
  for (const name of leftovers().interfaces) {
    tryRun(['ip', 'link', 'del', name]);
    removed.push(`interface ${name}`);
  }
  return removed;
}

function tryRun(argv: readonly string[]): string {
  try {
    return run(argv);
  } catch {
    return '';
  }
}
