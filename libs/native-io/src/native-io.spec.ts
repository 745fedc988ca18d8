import { randomBytes } from 'node:crypto';
import { open, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canSendFile, sendFile } from './index.mjs';

/** A connected pair on loopback: the server's side (to send on) and the client's. */
async function connectedPair(): Promise<{ server: Socket; client: Socket; close(): void }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const address = listener.address() as { port: number };
  const client = connect(address.port, '127.0.0.1');
  const server = await accepted;
  return {
    server,
    client,
    close() {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

function fdOf(socket: Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

/** Runs a transfer; its error code (undefined: none) and the bytes sent. */
function transfer(
  socket: Socket,
  fileFd: number,
  offset: number,
  length: number,
  timeoutMs: number,
  started?: (cancel: () => void) => void,
): Promise<{ code: string | undefined; sent: number }> {
  return new Promise((resolve, reject) => {
    const cancel = sendFile(fdOf(socket), fileFd, offset, length, timeoutMs, (error, sent) =>
      resolve({ code: error?.code, sent }),
    );
    if (!cancel) reject(new Error('no transfer started'));
    else started?.(cancel);
  });
}

describe('sendFile', () => {
  let directory: string;
  let path: string;
  const content = randomBytes(24 * 1024 * 1024);

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'native-io-'));
    path = join(directory, 'blob');
    await writeFile(path, content);
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is built on this Linux machine', () => {
    expect(canSendFile).toBe(true);
  });

  it('sends exactly the region, even when the caller closes its descriptor at once', async () => {
    const pair = await connectedPair();
    try {
      const received: Buffer[] = [];
      pair.client.on('data', (chunk: Buffer) => received.push(chunk));
      const file = await open(path);
      const done = transfer(pair.server, file.fd, 1000, 20 * 1024 * 1024, 5000);
      await file.close();
      expect(await done).toEqual({ code: undefined, sent: 20 * 1024 * 1024 });
      pair.server.end();
      await new Promise((resolve) => pair.client.once('end', resolve));
      expect(Buffer.concat(received).equals(content.subarray(1000, 1000 + 20 * 1024 * 1024))).toBe(
        true,
      );
    } finally {
      pair.close();
    }
  });

  it('gives up after the timeout when the peer does not read', async () => {
    const pair = await connectedPair();
    pair.client.pause();
    const file = await open(path);
    try {
      const started = Date.now();
      const result = await transfer(pair.server, file.fd, 0, content.length, 300);
      expect(result.code).toBe('ETIMEDOUT');
      expect(result.sent).toBeLessThan(content.length);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      await file.close();
      pair.close();
    }
  });

  it('stops soon after a cancel', async () => {
    const pair = await connectedPair();
    pair.client.pause();
    const file = await open(path);
    try {
      const result = await transfer(pair.server, file.fd, 0, content.length, 60_000, (cancel) =>
        setTimeout(cancel, 50),
      );
      expect(result.code).toBe('ECANCELED');
    } finally {
      await file.close();
      pair.close();
    }
  });

  it('fails, never ends early as if complete, for a file shorter than the region', async () => {
    const pair = await connectedPair();
    pair.client.resume();
    const file = await open(path);
    try {
      const result = await transfer(pair.server, file.fd, content.length - 100, 1000, 5000);
      expect(result).toEqual({ code: 'ENODATA', sent: 100 });
    } finally {
      await file.close();
      pair.close();
    }
  });

  it('fails when the peer goes away mid-transfer, though Node closed its own descriptor', async () => {
    const pair = await connectedPair();
    pair.client.pause();
    pair.server.on('error', () => undefined);
    const file = await open(path);
    try {
      const result = await transfer(pair.server, file.fd, 0, content.length, 5000, () =>
        setTimeout(() => pair.client.resetAndDestroy(), 50),
      );
      expect(['EPIPE', 'ECONNRESET']).toContain(result.code);
      expect(result.sent).toBeLessThan(content.length);
    } finally {
      await file.close();
      pair.close();
    }
  });

  it('refuses arguments out of range', () => {
    expect(() => sendFile(-1, 0, 0, 1, 1000, () => undefined)).toThrow(TypeError);
  });
});
