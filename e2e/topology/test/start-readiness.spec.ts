/**
 * `npm start` prints its banner only once DTR itself judges every member of every cache healthy
 * (its API's view; until then DTR serves blobs directly), and after a bounded wait prints it anyway
 * with a warning naming each member DTR does not judge healthy. A stand-in server holds region-us-2's
 * address at first — it answers start.ts's readiness probe (`/health`) but 503 to DTR's health
 * check (`/v2/`), as a member that is up but not serving yet — so the real member cannot start
 * until the stand-in goes away (the supervisor restarts it after a backoff).
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { basic, type RunningTopology, startTopology } from '@dtr-cache/test-support';

interface StandIn {
  /** How many health checks (`GET /v2/`) it answered with 503. */
  readonly checks: () => number;
  close(): Promise<void>;
}

/** Listens on `host`:5000 (a member's address) answering `/health` 200 and everything else 503. */
async function standIn(host: string): Promise<StandIn> {
  let checks = 0;
  const server = createServer((request, response) => {
    if (request.url === '/health') {
      response.end('{"status":"ok"}');
      return;
    }
    if (request.url?.startsWith('/v2/')) checks += 1;
    response.statusCode = 503;
    response.end();
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(5000, host, listening);
  });
  let closed: Promise<void> | undefined;
  return {
    checks: () => checks,
    close: () => {
      server.closeAllConnections();
      closed ??= new Promise((done) => server.close(() => done()));
      return closed;
    },
  };
}

interface Listing {
  contentCaches: Array<{
    name: string;
    members: Array<{ host: string; health: { status: string } }>;
  }>;
}

/** Each member as `<host>=<status>` in DTR's view now. */
async function memberHealth(topology: RunningTopology): Promise<string[]> {
  const { endpoints, call } = topology;
  const answer = await call(`${endpoints.dtr.url}/api/v0/content_caches`, {
    auth: basic(endpoints.users.admin),
  });
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.body.toString()) as Listing).contentCaches.flatMap((cache) =>
    cache.members.map((member) => `${member.host}=${member.health.status}`),
  );
}

describe('npm start: the banner waits for DTR to judge every cache healthy', () => {
  let topology: RunningTopology | undefined;
  let blocker: StandIn | undefined;

  afterEach(async () => {
    await blocker?.close();
    await topology?.dispose();
    topology = undefined;
    blocker = undefined;
  });

  it('prints no banner while DTR judges a member unhealthy, and prints it once DTR judges it healthy', async () => {
    blocker = await standIn('127.0.0.114');
    const starting = startTopology('127.0.0.110');
    let printed = false;
    starting.then(
      () => (printed = true),
      () => (printed = true),
    );
    // DTR checked the stand-in (as region-us-2) at registration and again an interval later.
    const deadline = Date.now() + 120_000;
    while (blocker.checks() < 2 && !printed && Date.now() < deadline)
      await new Promise((tick) => setTimeout(tick, 100));
    const printedWhileUnhealthy = printed;
    await blocker.close();
    topology = await starting;
    expect(printedWhileUnhealthy).toBe(false);
    expect(blocker.checks()).toBeGreaterThanOrEqual(2);
    // What start.ts said it waited for, and DTR's view right after the banner.
    expect(topology.output()).toMatch(
      /waiting up to 60s for DTR to judge every content cache healthy:\n[^]*region-us-2 \(http:\/\/127\.0\.0\.114:5000, cache region-us\): unhealthy, HTTP 503/,
    );
    expect(topology.output()).not.toContain('WARNING');
    const health = await memberHealth(topology);
    expect(health).toHaveLength(4);
    expect(health.filter((member) => !member.endsWith('=healthy'))).toEqual([]);
    expect(topology.endpoints).toMatchObject({ cacheHealth: { healthy: true, unhealthy: [] } });
  }, 200_000);

  it('prints the banner after the bound with a warning naming the member and why, then says when it is healthy', async () => {
    blocker = await standIn('127.0.0.124');
    topology = await startTopology('127.0.0.120', { TOPOLOGY_CACHE_HEALTH_TIMEOUT: '8' });
    const output = topology.output();
    const warning = output.indexOf('WARNING: after 8s DTR still does not judge');
    expect(warning).toBeGreaterThan(-1);
    expect(output.slice(warning)).toContain(
      'region-us-2 (http://127.0.0.124:5000, cache region-us): unhealthy, HTTP 503',
    );
    // Only that member: the other three are healthy.
    expect(output.slice(warning).split('\n\n')[0]?.split('\n')).toHaveLength(3);
    expect(topology.endpoints).toMatchObject({
      cacheHealth: {
        healthy: false,
        unhealthy: ['region-us-2 (http://127.0.0.124:5000, cache region-us): unhealthy, HTTP 503'],
      },
    });
    expect(await memberHealth(topology)).toContain('http://127.0.0.124:5000=unhealthy');

    await blocker.close();
    await expect
      .poll(() => topology?.output() ?? '', { timeout: 90_000, interval: 500 })
      .toContain('start: DTR now judges every content cache healthy');
  }, 200_000);
});
