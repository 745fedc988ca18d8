import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/test-database';
import { AuthFailureStore } from '../store/auth-failure-store';
import type { OpenedDatabase } from '../store/database';
import { SharedFailureBackoff } from './shared-failure-backoff';

describe('SharedFailureBackoff', () => {
  let database: OpenedDatabase & { close(): Promise<void> };
  beforeEach(async () => {
    database = await openTestDatabase();
  });
  afterEach(() => database.close());

  /** Two replicas' counters on one database. */
  const replicas = (policy: { freeAttempts: number; maxBackoffMs: number }) => [
    new SharedFailureBackoff(new AuthFailureStore(database.database), policy),
    new SharedFailureBackoff(new AuthFailureStore(database.database), policy),
  ];

  it('waits 1 s after the free attempts, doubling up to the longest wait, counted across replicas', async () => {
    const [one, two] = replicas({ freeAttempts: 3, maxBackoffMs: 10_000 });
    const waits: number[] = [];
    for (let index = 0; index < 8; index += 1)
      waits.push((await (index % 2 === 0 ? one : two)?.fail('k', 1000 + index))?.wait ?? -1);
    expect(waits).toEqual([0, 0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(await two?.waitFor('k', 1007)).toBe(10_000);
    expect(await one?.waitFor('k', 1007 + 10_000)).toBe(0);
    expect(await one?.waitFor('other', 1007)).toBe(0);
  });

  it('forgets a key on success on any replica, and one quiet for four times the longest wait', async () => {
    const [one, two] = replicas({ freeAttempts: 1, maxBackoffMs: 1000 });
    await one?.fail('a', 0);
    await one?.fail('a', 0);
    await two?.succeed('a');
    expect(await one?.fail('a', 0)).toEqual({ failures: 1, wait: 1000 });
    await one?.fail('b', 0);
    expect(await two?.fail('b', 4000)).toEqual({ failures: 2, wait: 1000 });
    expect(await two?.fail('b', 9001)).toEqual({ failures: 1, wait: 1000 });
  });
});
