import { MemoryDriver, type StorageDriver } from '@dtr-cache/blob-store';
import { silentLogger } from '@dtr-cache/logging';
import { describe, expect, it } from 'vitest';
import { StorageHealthCheck } from './storage-health';

/** A memory driver whose temp files and stats can be made to fail or hang. */
function faultyDriver() {
  const driver = new MemoryDriver();
  const faults = { createTemp: 'ok' as 'ok' | 'fail' | 'hang', stats: 0, temps: 0 };
  const faulty = Object.assign(Object.create(driver) as StorageDriver, {
    createTemp: () => {
      faults.temps += 1;
      if (faults.createTemp === 'fail') return Promise.reject(new Error('EROFS: read-only'));
      if (faults.createTemp === 'hang') return new Promise<never>(() => undefined);
      return driver.createTemp();
    },
    stat: (key: string) => {
      faults.stats += 1;
      return driver.stat(key);
    },
  });
  return { driver: faulty, faults };
}

describe('StorageHealthCheck', () => {
  it('is unhealthy after threshold failures in a row, and healthy again after a pass', async () => {
    const { driver, faults } = faultyDriver();
    const check = new StorageHealthCheck(driver, { intervalMs: 1000, threshold: 2 }, silentLogger);
    await check.check();
    expect(check.problem).toBeUndefined();
    faults.createTemp = 'fail';
    await check.check();
    expect(check.problem).toBeUndefined();
    await check.check();
    expect(check.problem).toBe('storage check failed 2 times in a row: EROFS: read-only');
    faults.createTemp = 'ok';
    await check.check();
    expect(check.problem).toBeUndefined();
  });

  it('counts a check that does not answer within the interval as failed', async () => {
    const { driver, faults } = faultyDriver();
    faults.createTemp = 'hang';
    const check = new StorageHealthCheck(driver, { intervalMs: 1000, threshold: 1 }, silentLogger);
    await check.check();
    expect(check.problem).toMatch(/no answer within 1000 ms/);
  });

  it('only reads in read-only mode', async () => {
    const { driver, faults } = faultyDriver();
    const check = new StorageHealthCheck(
      driver,
      { intervalMs: 1000, threshold: 1, readOnly: true },
      silentLogger,
    );
    await check.check();
    expect(check.problem).toBeUndefined();
    expect(faults).toMatchObject({ temps: 0, stats: 1 });
  });
});
