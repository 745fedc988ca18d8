import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountStore } from './account-store';
import { openTestDatabase } from '../../test/test-database';
import type { OpenedDatabase } from './database';
import { SessionStore } from './session-store';

describe('SessionStore', async () => {
  let database: OpenedDatabase & { close(): Promise<void> };
  let accounts: AccountStore;
  let sessions: SessionStore;

  beforeEach(async () => {
    database = await openTestDatabase();
    accounts = new AccountStore(database.database);
    sessions = new SessionStore(database.database, 60_000);
  });
  afterEach(() => database.close());

  it('finds a live session by its cookie value and stores only a hash of it', async () => {
    const alice = await accounts.create({ name: 'alice', kind: 'user', passwordHash: 'x' });
    const now = new Date('2026-11-23T12:00:00Z');
    const { token, session } = await sessions.create(alice, now);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessions.find(token, now)).toEqual(session);
    expect(session.csrfToken).not.toBe(token);
    const stored = JSON.stringify(
      await database.database.selectFrom('sessions').selectAll().execute(),
    );
    expect(stored).not.toContain(token);
    expect(await sessions.find(`${token}x`, now)).toBeUndefined();
    expect(await sessions.find('', now)).toBeUndefined();
  });

  it('ends sessions when they expire, on sign-out and with their account', async () => {
    const alice = await accounts.create({ name: 'alice', kind: 'user', passwordHash: 'x' });
    const now = new Date('2026-11-23T12:00:00Z');
    const first = (await sessions.create(alice, now)).token;
    expect(await sessions.find(first, new Date(now.getTime() + 59_999))).toBeDefined();
    expect(await sessions.find(first, new Date(now.getTime() + 60_000))).toBeUndefined();

    const second = (await sessions.create(alice, now)).token;
    expect(await sessions.delete(second)).toBe(true);
    expect(await sessions.find(second, now)).toBeUndefined();

    const third = (await sessions.create(alice, now)).token;
    await accounts.delete('alice');
    expect(await sessions.find(third, now)).toBeUndefined();
  });
});
