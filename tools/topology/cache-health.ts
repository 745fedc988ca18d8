/**
 * Waiting until DTR would send pulls to the registered caches. Each DTR server judges a cache by
 * its own last view of the shared health checks (renewed every `healthinterval`), so right after
 * the caches are registered — or after a restart, before the caches answer again — DTR still serves
 * blobs directly ("content cache unhealthy, serving blob directly"), and a group sends a member's
 * share of the blobs elsewhere. A topology is ready once every DTR server says every member of
 * every cache is healthy (`GET /api/v0/content_caches`, as an administrator).
 */
import { call, type User } from './topology';

/** A health check as DTR's API shows it. */
interface ApiHealth {
  status?: string;
  error?: string | null;
}

interface CacheListing {
  contentCaches?: Array<{
    name: string;
    health?: ApiHealth;
    members?: Array<{ host: string; health?: ApiHealth }>;
  }>;
}

/** A cache member that a DTR server does not judge healthy, and why (DTR's coarse reason). */
export interface UnhealthyMember {
  /** The DTR server (base URL) whose view this is. */
  readonly server: string;
  readonly cache: string;
  /** The member's URL as registered; undefined when the server did not answer at all. */
  readonly host: string | undefined;
  /** `unhealthy`, `unknown` (not checked yet), or `no answer` (the DTR server itself). */
  readonly status: string;
  /** DTR's reason (`unreachable`, `timeout`, `TLS error`, `HTTP 503`, …), if it gave one. */
  readonly reason: string | undefined;
}

/** The members `server` does not judge healthy now (one entry for the server when it cannot answer). */
export async function unhealthyMembers(
  server: string,
  admin: User,
  cas: Buffer[],
): Promise<UnhealthyMember[]> {
  const answer = await call(`${server}/api/v0/content_caches`, { auth: admin, cas }).catch(
    (error: unknown) => ({ status: 0, body: error instanceof Error ? error.message : '' }),
  );
  const noAnswer = (reason: string): UnhealthyMember[] => [
    { server, cache: '*', host: undefined, status: 'no answer', reason },
  ];
  if (answer.status !== 200)
    return noAnswer(answer.status === 0 ? answer.body : `HTTP ${answer.status}`);
  let listing: CacheListing;
  try {
    listing = JSON.parse(answer.body) as CacheListing;
  } catch {
    return noAnswer('not a JSON answer');
  }
  return (listing.contentCaches ?? []).flatMap((cache) =>
    (cache.members ?? [{ host: '', health: cache.health }])
      .filter((member) => member.health?.status !== 'healthy')
      .map((member) => ({
        server,
        cache: cache.name,
        host: member.host || undefined,
        status: member.health?.status ?? 'unknown',
        reason: member.health?.error ?? undefined,
      })),
  );
}

/** How long {@link waitForCacheHealth} waits by default. */
export const CACHE_HEALTH_TIMEOUT_MS = 60_000;

/**
 * Waits until each DTR server in `servers` (base URLs: each replica, not the load balancer) judges
 * every member of every registered cache healthy, or until `timeoutMs` (default
 * {@link CACHE_HEALTH_TIMEOUT_MS}) passed. `onWaiting` hears the first view that is not healthy
 * yet (once), so a person sees what is waited for.
 * @returns the members still not judged healthy at the deadline: empty when all are (or cancelled).
 */
export async function waitForCacheHealth(
  servers: readonly string[],
  admin: User,
  cas: Buffer[],
  options: {
    timeoutMs?: number;
    /** Between two looks (default 250 ms). */
    pollMs?: number;
    cancelled?: () => boolean;
    onWaiting?: (unhealthy: readonly UnhealthyMember[]) => void;
  } = {},
): Promise<UnhealthyMember[]> {
  const deadline = Date.now() + (options.timeoutMs ?? CACHE_HEALTH_TIMEOUT_MS);
  let waiting = false;
  for (;;) {
    if (options.cancelled?.()) return [];
    const views = await Promise.all(servers.map((server) => unhealthyMembers(server, admin, cas)));
    const unhealthy = views.flat();
    if (unhealthy.length === 0) return [];
    if (Date.now() > deadline) return unhealthy;
    if (!waiting) options.onWaiting?.(unhealthy);
    waiting = true;
    await new Promise((done) => setTimeout(done, options.pollMs ?? 250));
  }
}

/** One line per member: `region-us-2 (http://127.0.0.14:5000): unhealthy, HTTP 503 [in …]`. */
export function describeUnhealthy(
  unhealthy: readonly UnhealthyMember[],
  nameOf: (host: string) => string | undefined,
  options: { showServer: boolean },
): string[] {
  return unhealthy.map((member) => {
    const who =
      member.host === undefined
        ? `DTR at ${member.server}`
        : `${nameOf(member.host) ?? member.cache} (${member.host}, cache ${member.cache})`;
    const why = [member.status, member.reason].filter(Boolean).join(', ');
    return `${who}: ${why}${options.showServer && member.host !== undefined ? ` [as ${member.server} sees it]` : ''}`;
  });
}
