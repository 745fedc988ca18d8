import { silentLogger } from '@dtr-cache/logging';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountStore } from '../store/account-store';
import { openDatabase } from '../store/database';
import type { Database } from '../store/schema';
import { FailureBackoff } from './failure-backoff';
import { HashSlots } from './hash-slots';
import { PasswordGuard } from './password-guard';
import { hashPassword } from './password-hash';

describe('FailureBackoff', () => {
  it('waits 1 s after the free attempts, doubling up to the longest wait', () => {
    const backoff = new FailureBackoff({ freeAttempts: 3, maxBackoffMs: 10_000 });
    const waits = Array.from({ length: 8 }, (_, index) => backoff.fail('k', 1000 + index));
    expect(waits).toEqual([0, 0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoff.waitFor('k', 1007)).toBe(10_000);
    expect(backoff.waitFor('k', 1007 + 10_000)).toBe(0);
    expect(backoff.waitFor('other', 1007)).toBe(0);
  });

  it('forgets a key on success, and one quiet for four times the longest wait', () => {
    const backoff = new FailureBackoff({ freeAttempts: 1, maxBackoffMs: 1000 });
    backoff.fail('a', 0);
    backoff.fail('a', 0);
    backoff.succeed('a');
    expect(backoff.failures('a', 0)).toBe(0);
    backoff.fail('b', 0);
    expect(backoff.failures('b', 4000)).toBe(1);
    expect(backoff.failures('b', 4001)).toBe(0);
  });

  it('keeps at most maxKeys keys, dropping the least recently failed', () => {
    const backoff = new FailureBackoff({ freeAttempts: 1, maxBackoffMs: 1000 }, 2);
    backoff.fail('a', 0);
    backoff.fail('b', 0);
    backoff.fail('a', 1);
    backoff.fail('c', 2);
    expect([backoff.failures('a', 3), backoff.failures('b', 3), backoff.failures('c', 3)]).toEqual([
      2, 0, 1,
    ]);
  });
});

describe('HashSlots', () => {
  it('runs at most `concurrency` at once and refuses past the queue with 429', async () => {
    const slots = new HashSlots(2, 3);
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const work = () =>
      slots.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
      });
    const accepted = Array.from({ length: 5 }, work);
    await expect(work()).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    expect(slots.load).toEqual({ active: 2, waiting: 3 });
    while (releases.length > 0 || slots.load.active > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(accepted);
    expect(most).toBe(2);
  });
});

describe('PasswordGuard', () => {
  let database: Database;
  let accounts: AccountStore;
  let guard: PasswordGuard;

  beforeEach(async () => {
    ({ database } = await openDatabase({ engine: 'sqlite', path: ':memory:' }));
    accounts = new AccountStore(database);
    await accounts.create({
      name: 'alice',
      kind: 'user',
      passwordHash: await hashPassword('right'),
    });
    guard = new PasswordGuard(
      accounts,
      { freeAttempts: 2, maxBackoffMs: 60_000, concurrency: 1, queueLimit: 8, rememberMs: 60_000 },
      silentLogger,
    );
  });
  afterEach(() => database.destroy());

  it('holds back an address and an account after the free attempts', async () => {
    expect(await guard.check('alice', 'wrong', '192.0.2.1')).toBeUndefined();
    expect(await guard.check('alice', 'wrong', '192.0.2.1')).toBeUndefined();
    await expect(guard.check('alice', 'right', '192.0.2.1')).rejects.toMatchObject({
      code: 'TOOMANYREQUESTS',
      headers: { 'Retry-After': '1' },
    });
    // The account is held back for a new address too…
    await expect(guard.check('alice', 'right', '192.0.2.2')).rejects.toMatchObject({
      code: 'TOOMANYREQUESTS',
    });
  });

  it('lets an address that signed in before through, however others fail', async () => {
    expect(await guard.check('alice', 'right', '192.0.2.9')).toMatchObject({ name: 'alice' });
    for (let attempt = 0; attempt < 5; attempt += 1)
      await guard.check('alice', `wrong-${attempt}`, '198.51.100.1').catch(() => undefined);
    // A different password (not remembered) from the known address: checked, not held back.
    expect(await guard.check('alice', 'still-wrong', '192.0.2.9')).toBeUndefined();
  });

  it('remembers a verified password only until the account changes', async () => {
    const alice = await guard.check('alice', 'right', '192.0.2.1');
    expect(alice).toBeDefined();
    await accounts.setPasswordHash(alice as never, await hashPassword('new'));
    expect(await guard.check('alice', 'right', '192.0.2.1')).toBeUndefined();
    expect(await guard.check('alice', 'new', '192.0.2.1')).toMatchObject({ generation: 2 });
  });
});
