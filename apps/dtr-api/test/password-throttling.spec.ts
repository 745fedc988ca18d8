import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;

beforeAll(async () => {
  dtr = await startDtr('network: { trustedproxies: [127.0.0.1/32] }', {
    DTR_API_AUTH_THROTTLE_FREEATTEMPTS: '3',
    DTR_API_AUTH_THROTTLE_MAXBACKOFF: '2s',
  });
  await dtr.createUser('alice', 'alice-password');
  await dtr.createUser('bob', 'bob-password');
});
afterAll(async () => dtr.close());

/** GET `path` from the local address `from` (another loopback address is another client). */
function getFrom(
  from: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const url = new URL(path, dtr.url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: url.hostname, port: url.port, path: url.pathname, localAddress: from, headers },
      (incoming) => {
        let body = '';
        incoming.on('data', (chunk: Buffer) => (body += chunk.toString()));
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode ?? 0,
            retryAfter: incoming.headers['retry-after'],
            body,
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const account = (from: string, user: string, password: string) =>
  getFrom(from, `/api/v0/accounts/${user}`, { Authorization: basic(user, password) });

describe('failed password checks are throttled', () => {
  it('holds back wrong passwords for an account after the free attempts, with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const answer = await account('127.0.4.1', 'alice', `wrong-${attempt}`);
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.retryAfter;
        expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });
      }
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(30);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(2);
  });

  it('does not lock the owner out from an address they signed in from before', async () => {
    // Bob signs in from his usual address, then an attacker elsewhere fails many times.
    expect((await account('127.0.4.2', 'bob', 'bob-password')).status).toBe(200);
    for (let attempt = 0; attempt < 10; attempt += 1)
      await account('127.0.4.3', 'bob', `guess-${attempt}`);
    expect((await account('127.0.4.3', 'bob', 'guess-x')).status).toBe(429);
    // Bob, at his own address, is not held back by the attacker's failures.
    expect((await account('127.0.4.2', 'bob', 'bob-password')).status).toBe(200);
  });

  it('never holds an account back for longer than the longest backoff', async () => {
    for (let attempt = 0; attempt < 10; attempt += 1)
      await account('127.0.4.4', 'alice', `wrong-again-${attempt}`);
    expect((await account('127.0.4.5', 'alice', 'alice-password')).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await account('127.0.4.5', 'alice', 'alice-password')).status).toBe(200);
  });

  it('counts the client behind a trusted proxy by X-Forwarded-For', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1)
      await getFrom('127.0.0.1', '/api/v0/accounts/nobody', {
        Authorization: basic('nobody', 'x'),
        'X-Forwarded-For': '203.0.113.7',
      });
    const held = await getFrom('127.0.0.1', '/api/v0/accounts/nobody-else', {
      Authorization: basic('nobody-else', 'x'),
      'X-Forwarded-For': '203.0.113.7',
    });
    expect(held.status).toBe(429);
    // Another client behind the same proxy is not held back by that one's failures.
    const other = await getFrom('127.0.0.1', '/api/v0/accounts/nobody-else', {
      Authorization: basic('nobody-else', 'x'),
      'X-Forwarded-For': '203.0.113.8',
    });
    expect(other.status).toBe(401);
  });

  it('throttles the web sign-in the same way, saying when to try again', async () => {
    const attempts: string[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1)
      attempts.push(
        await dtr.signIn('dora', `wrong-${attempt}`).then(
          () => 'signed in',
          (error: Error) => /sign-in failed: (\d+)/.exec(error.message)?.[1] ?? error.message,
        ),
      );
    expect(attempts).toEqual(['401', '401', '401', '429', '429']);
    // The sign-in page says so (the harness saw the 429 page, not a session).
  });

  it('throttles guesses of the current password when changing it', async () => {
    const eve = await dtr.createUser('eve', 'eve-password');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await dtr.fetch('/api/v0/accounts/eve/password', {
        method: 'PUT',
        authorization: eve,
        // A client of its own behind the trusted proxy (earlier tests failed from 127.0.0.1).
        headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.50' },
        body: JSON.stringify({ password: 'new-password-1', currentPassword: `guess-${attempt}` }),
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([403, 403, 403, 429, 429]);
  });

  it('throttles the token service the same way', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1)
      await getFrom('127.0.4.6', '/auth/token?service=dtr', {
        Authorization: basic('carol', `wrong-${attempt}`),
      });
    const token = await getFrom('127.0.4.6', '/auth/token?service=dtr', {
      Authorization: basic('carol', 'wrong'),
    });
    expect(token.status).toBe(429);
    expect(token.retryAfter).toBeDefined();
  });
});
