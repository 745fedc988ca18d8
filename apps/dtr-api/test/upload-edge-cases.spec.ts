import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let bearer: string;

beforeAll(async () => {
  dtr = await startDtr();
  const alice = await dtr.createUser('alice');
  await dtr.pushBlob('alice/app', Buffer.from('creates the repository'), alice);
  bearer = `Bearer ${await dtr.token(['repository:alice/app:pull,push'], alice)}`;
});
afterAll(async () => dtr.close());

/** Sends `sent` bytes of a chunk that declares `declared` bytes, then cuts the connection. */
function truncatedPatch(path: string, declared: number, sent: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const url = new URL(path, dtr.url);
    const outgoing = request(url, {
      method: 'PATCH',
      headers: {
        Authorization: bearer,
        'Content-Length': declared,
        'Content-Type': 'application/octet-stream',
      },
    });
    outgoing.on('error', () => resolve());
    outgoing.write(sent, () => setTimeout(() => outgoing.destroy(), 50));
    outgoing.on('close', () => resolve());
  });
}

describe('upload edge cases', () => {
  it('survives a truncated chunk: the upload keeps only the bytes that arrived and can go on', async () => {
    const started = await dtr.fetch('/v2/alice/app/blobs/uploads/', {
      method: 'POST',
      authorization: bearer,
    });
    const location = started.headers.get('location') as string;
    await truncatedPatch(location, 1000, Buffer.alloc(10, 1));
    let status: Response | undefined;
    for (let attempt = 0; attempt < 50; attempt += 1) {
      status = await dtr.fetch(location, { authorization: bearer });
      if (status.status === 204) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status?.status).toBe(204);
    expect(status?.headers.get('range')).toBe('0-9');
    const next = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: bearer,
      headers: { 'Content-Range': '10-14' },
      body: Buffer.alloc(5, 2),
    });
    expect(next.status).toBe(202);
    expect(next.headers.get('range')).toBe('0-14');
  });

  it('refuses an oversized manifest with 413 before reading it all', async () => {
    const response = await dtr.fetch('/v2/alice/app/manifests/huge', {
      method: 'PUT',
      authorization: bearer,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: Buffer.alloc(5 * 1024 * 1024, 0x20),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
      'TOO_LARGE',
    );
  });
});
