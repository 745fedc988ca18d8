import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverBlobStore, FilesystemDriver } from '@dtr-cache/blob-store';
import { silentLogger, type Logger } from '@dtr-cache/logging';
import { Digest, MediaTypes } from '@dtr-cache/registry-protocol';
import { expect } from 'vitest';
import { GarbageCollector } from '../src/gc/garbage-collector';
import { openDatabase, type OpenedDatabase } from '../src/store/database';
import type { RunningDtr } from './dtr-harness';

/** The grace period the suites collect with; {@link GcFixture.age} makes everything older. */
export const GRACE_MS = 60 * 60_000;

/** A blob (or manifest) pushed: its digest and size. */
export interface Pushed {
  readonly digest: string;
  readonly size: number;
}

/** Garbage collection of a running DTR's data, as `dtr-api garbage-collect` would do it. */
export interface GcFixture {
  /** A connection of its own to DTR's database. */
  readonly opened: OpenedDatabase;
  /** DTR's storage root, through a driver of its own. */
  readonly blobs: DriverBlobStore;
  collector(logger?: Logger): GarbageCollector;
  /** True if the blob is stored. */
  stored(digest: string): Promise<boolean>;
  /** Makes every blob, link and manifest two grace periods old. */
  age(): Promise<void>;
  close(): Promise<void>;
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else files.push(path);
  }
  return files;
}

export async function gcFixture(dtr: RunningDtr): Promise<GcFixture> {
  const opened = await openDatabase(dtr.database.location, { poolSize: 3 });
  const root = join(dtr.directory, 'blobs');
  const driver = new FilesystemDriver(root, { openFiles: { capacity: 0, validMs: 0 } });
  const blobs = new DriverBlobStore(driver);
  return {
    opened,
    blobs,
    collector: (logger = silentLogger) =>
      new GarbageCollector({ database: opened.database, engine: opened.engine, blobs, logger }),
    stored: async (digest) => (await blobs.stat(Digest.parse(digest))) !== undefined,
    async age() {
      const then = new Date(Date.now() - 2 * GRACE_MS);
      for (const file of await filesUnder(join(root, 'blobs'))) await utimes(file, then, then);
      await opened.database
        .updateTable('repository_blobs')
        .set({ linked_at: then.toISOString() })
        .execute();
      await opened.database
        .updateTable('manifests')
        .set({ created_at: then.toISOString() })
        .execute();
    },
    async close() {
      await driver.close();
      await opened.database.destroy();
    },
  };
}

/** Pushes a blob to `repository` (monolithic upload) as `authorization`. */
export async function pushBlob(
  dtr: RunningDtr,
  repository: string,
  content: string,
  authorization: string,
): Promise<Pushed> {
  const digest = await dtr.pushBlob(repository, Buffer.from(content), authorization);
  return { digest: digest.toString(), size: Buffer.byteLength(content) };
}

/** An OCI image manifest of `config` and `layers`, optionally a referrer of `subject`. */
export function imageManifest(config: Pushed, layers: Pushed[], subject?: Pushed): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, ...config },
    layers: layers.map((layer) => ({ mediaType: MediaTypes.ociLayerGzip, ...layer })),
    ...(subject ? { subject: { mediaType: MediaTypes.ociManifest, ...subject } } : {}),
  });
}

/** PUTs a manifest under `reference` (a tag, or its digest); expects 201. */
export async function putManifest(
  dtr: RunningDtr,
  repository: string,
  reference: string,
  body: string,
  authorization: string,
): Promise<Pushed> {
  const response = await dtr.fetch(`/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    authorization,
    headers: { 'Content-Type': MediaTypes.ociManifest },
    body,
  });
  expect(response.status, await response.text()).toBe(201);
  return { digest: Digest.of(body).toString(), size: Buffer.byteLength(body) };
}

/** An image pushed: its blobs, then its manifest. */
export interface PushedImage {
  readonly manifest: Pushed;
  readonly config: Pushed;
  readonly layers: Pushed[];
  readonly body: string;
}

/** Pushes an image of `config` and `layers` (texts) under `reference`. */
export async function pushImage(
  dtr: RunningDtr,
  repository: string,
  reference: string,
  image: { config: string; layers: string[]; subject?: Pushed },
  authorization: string,
): Promise<PushedImage> {
  const config = await pushBlob(dtr, repository, image.config, authorization);
  const layers: Pushed[] = [];
  for (const layer of image.layers)
    layers.push(await pushBlob(dtr, repository, layer, authorization));
  const body = imageManifest(config, layers, image.subject);
  const target = reference === 'digest' ? Digest.of(body).toString() : reference;
  const manifest = await putManifest(dtr, repository, target, body, authorization);
  return { manifest, config, layers, body };
}

/** Sends a DELETE as `authorization`; expects `status`. */
export async function remove(
  dtr: RunningDtr,
  path: string,
  authorization: string,
  status = 202,
): Promise<void> {
  const response = await dtr.fetch(path, { method: 'DELETE', authorization });
  expect(response.status, `${path}: ${await response.text()}`).toBe(status);
}

/** GETs a blob as `authorization`; its status and bytes. */
export async function pull(
  dtr: RunningDtr,
  repository: string,
  digest: string,
  authorization: string,
): Promise<{ status: number; text: string }> {
  const response = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, { authorization });
  return { status: response.status, text: await response.text() };
}
