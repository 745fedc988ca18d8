import { type PostgresServer, startPostgres } from '@dtr-cache/test-support';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database';
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

describe('a PostgreSQL connection that breaks while DTR holds it', () => {
  it('fails only the work on it (no crash) when it breaks between two queries of a transaction', async () => {
    const { database } = await openDatabase(
      { engine: 'postgresql', url: server.url() },
      { poolSize: 2 },
    );
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    try {
      const transaction = database.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
        // The server ends this connection while no query runs on it: pg reports that as an
        // 'error' event of the client, which the pool does not listen to while it is lent out.
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await sql`SELECT 1`.execute(trx);
      });
      await expect(transaction).rejects.toThrow();
      // The broken connection was dropped: the next queries get a new one.
      const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await database.destroy();
    }
  }, 30_000);
});
