/**
 * Waiting until DTR would send pulls to the registered caches. Each DTR server judges a cache by
 * its own last view of the shared health checks (renewed every `healthinterval`), so right after
 * the caches are registered a replica other than the one that registered them still serves blobs
 * directly. A topology is ready once every server says every cache is healthy.
 */
import { call, type User } from './topology';

interface CacheListing {
  contentCaches?: Array<{ name: string; health?: { status?: string } }>;
}

/** The caches `server` does not judge healthy now (all of them when it cannot answer). */
async function unhealthyCaches(
  server: string,
  admin: User,
  cas: Buffer[],
): Promise<string[] | undefined> {
  const answer = await call(`${server}/api/v0/content_caches`, { auth: admin, cas }).catch(
    () => undefined,
  );
  if (answer?.status !== 200) return undefined;
  const listing = JSON.parse(answer.body) as CacheListing;
  return (listing.contentCaches ?? [])
    .filter((cache) => cache.health?.status !== 'healthy')
    .map((cache) => cache.name);
}

/**
 * Waits until each DTR server in `servers` (base URLs: each replica, not the load balancer) judges
 * every registered cache healthy.
 * @throws Error naming the server and the caches it does not judge healthy after `timeoutMs`.
 */
export async function waitForCacheHealth(
  servers: readonly string[],
  admin: User,
  cas: Buffer[],
  options: { timeoutMs?: number; cancelled?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (const server of servers) {
    for (;;) {
      if (options.cancelled?.()) return;
      const unhealthy = await unhealthyCaches(server, admin, cas);
      if (unhealthy?.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(
          `${server} does not judge the content caches healthy: ${unhealthy?.join(', ') ?? 'no answer'}`,
        );
      await new Promise((done) => setTimeout(done, 250));
    }
  }
}
