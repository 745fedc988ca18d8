import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPostgres } from './postgres-server';

const dataDirectory = join(tmpdir(), 'dtr-postgres-server-spec', 'data');
afterEach(() =>
  rmSync(join(tmpdir(), 'dtr-postgres-server-spec'), { recursive: true, force: true }),
);

describe('startPostgres', () => {
  it('refuses an address where something listens already, and leaves the data folder alone', async () => {
    // Another run's server on the address: its data folder must survive, and it must not be
    // taken for the new server (which would then run tests against a stranger's database).
    mkdirSync(dataDirectory, { recursive: true });
    writeFileSync(join(dataDirectory, 'PG_VERSION'), '15\n');
    const occupant = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => occupant.listen(55465, '127.0.0.64', resolve));
    try {
      await expect(
        startPostgres({ host: '127.0.0.64', port: 55465, dataDirectory, fresh: true }),
      ).rejects.toThrow('a server already listens on 127.0.0.64:55465');
      expect(existsSync(join(dataDirectory, 'PG_VERSION'))).toBe(true);
    } finally {
      await new Promise((resolve) => occupant.close(resolve));
    }
  }, 60_000);
});
