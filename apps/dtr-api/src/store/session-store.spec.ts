import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountStore } from './account-store';
import { type Database, openDatabase } from './database';
import { SessionStore } from './session-store';

describe('SessionStore', () => {
  let database: Database;
  let accounts: AccountStore;
  let sessions: SessionStore;

  beforeEach(() => {
    database = openDatabase(':memory:');
    accounts = new AccountStore(database);
    sessions = new SessionStore(database, 60_000);
  });
  afterEach(() => database.close());

  it('finds a live session by its cookie value and stores only a hash of it', () => {
    const alice = accounts.create({ name: 'alice', kind: 'user', passwordHash: 'x' });
    const now = new Date('2026-11-23T12:00:00Z');
    const { token, session } = sessions.create(alice, now);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessions.find(token, now)).toEqual(session);
    expect(session.csrfToken).not.toBe(token);
    const stored = JSON.stringify(database.prepare('SELECT * FROM sessions').all());
    expect(stored).not.toContain(token);
    expect(sessions.find(`${token}x`, now)).toBeUndefined();
    expect(sessions.find('', now)).toBeUndefined();
  });

  it('ends sessions when they expire, on sign-out and with their account', () => {
    const alice = accounts.create({ name: 'alice', kind: 'user', passwordHash: 'x' });
    const now = new Date('2026-11-23T12:00:00Z');
    const first = sessions.create(alice, now).token;
    expect(sessions.find(first, new Date(now.getTime() + 59_999))).toBeDefined();
    expect(sessions.find(first, new Date(now.getTime() + 60_000))).toBeUndefined();

    const second = sessions.create(alice, now).token;
    expect(sessions.delete(second)).toBe(true);
    expect(sessions.find(second, now)).toBeUndefined();

    const third = sessions.create(alice, now).token;
    accounts.delete('alice');
    expect(sessions.find(third, now)).toBeUndefined();
  });
});
