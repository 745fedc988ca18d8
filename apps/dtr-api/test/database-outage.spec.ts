import { type PostgresServer, startPostgres } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, type RunningDtr, startDtr } from './dtr-harness';

// PostgreSQL restarted under a running DTR (a server of this spec's own, so no other suite sees
// it go). Runs in the PostgreSQL project only (see vitest.postgres.config.ts).
let server: PostgresServer;
let dtr: RunningDtr;
let alice: string;

beforeAll(async () => {
  server = await startPostgres({ host: '127.0.0.62', port: 55462 });
  dtr = await startDtr(
    '',
    {},
    {
      database: {
        location: { engine: 'postgresql', url: server.url() },
        yaml: `database: { url: "${server.url()}" }`,
        drop: async () => undefined,
      },
    },
  );
  alice = await dtr.createUser('alice');
  await dtr.pushBlob('alice/app', Buffer.from('a layer'), alice);
}, 60_000);
afterAll(async () => {
  await dtr?.close();
  await server?.stop();
});

describe('PostgreSQL going away under DTR', () => {
  it('answers 503 UNAVAILABLE (not 500, no crash) while it is down, and works again once it is back, without a restart', async () => {
    const tags = () => dtr.fetch('/v2/alice/app/tags/list', { authorization: alice });
    expect((await tags()).status).toBe(200);
    await server.stop();

    for (const response of [
      await tags(),
      await dtr.fetch('/api/v0/accounts', { authorization: basic(ADMIN.username, ADMIN.password) }),
      await dtr.fetch('/auth/token?service=dtr&scope=repository:alice/app:pull', {
        authorization: alice,
      }),
    ]) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({
        errors: [{ code: 'UNAVAILABLE', message: 'the database does not answer: retry shortly' }],
      });
    }
    const health = await dtr.fetch('/health');
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({
      status: 'unavailable',
      reason: 'the database does not answer',
    });

    await server.restart();
    expect((await tags()).status).toBe(200);
    expect((await dtr.fetch('/health')).status).toBe(200);
  }, 60_000);
});
