import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadUrl, freePort, generateCertificates, httpsGet } from './index';

describe('test support', () => {
  it('finds a free port, and a dead URL refuses connections', async () => {
    expect(await freePort()).toBeGreaterThan(0);
    await expect(fetch(await deadUrl())).rejects.toThrow();
  });

  it('generates certificates that httpsGet trusts through the CA only', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'test-support-'));
    try {
      generateCertificates(directory, 'server=127.0.0.1');
      const [cert, key, ca] = await Promise.all(
        ['server.pem', 'server-key.pem', 'ca.pem'].map((file) => readFile(join(directory, file))),
      );
      const server = createServer({ cert, key }, (_request, response) => response.end('hello'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      try {
        const answer = await httpsGet(`https://127.0.0.1:${port}/`, ca as Buffer);
        expect(answer).toMatchObject({ status: 200 });
        expect(answer.body.toString()).toBe('hello');
        generateCertificates(join(directory, 'other'), 'other=127.0.0.1');
        const otherCa = await readFile(join(directory, 'other', 'ca.pem'));
        await expect(httpsGet(`https://127.0.0.1:${port}/`, otherCa)).rejects.toThrow();
      } finally {
        server.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
