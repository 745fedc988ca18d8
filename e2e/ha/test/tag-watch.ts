import { Headers, MediaTypes } from '@dtr-cache/registry-protocol';
import { type HttpClient, sleep } from './http-client';

/** What {@link watchTags} saw by the time it stopped. */
export interface TagWatchReport {
  /** Tags whose manifest and every blob answered. */
  readonly checked: string[];
  /** A listed tag without its manifest, or a manifest of a blob the registry does not have. */
  readonly halfWritten: string[];
}

/** A manifest's blobs (config and layers). */
function blobsOf(manifest: Buffer): string[] {
  const document = JSON.parse(manifest.toString()) as {
    config?: { digest: string };
    layers?: Array<{ digest: string }>;
  };
  return [document.config, ...(document.layers ?? [])].flatMap((blob) =>
    blob ? [blob.digest] : [],
  );
}

/**
 * Watches `repository` through `base` (the load balancer) while pushes go on: every tag listed
 * must answer its manifest, and every blob that manifest names must be there (HEAD: 200, or a 307
 * to a cache). A request that fails outright (a replica died under it, nginx had no replica) is
 * tried again in the next round; a 404 for what a listed tag names is half-written. A tag found
 * whole is not checked again. Resolves when `stop` is called.
 */
export function watchTags(
  client: HttpClient,
  base: string,
  repository: string,
  auth: string,
): { stop(): Promise<TagWatchReport> } {
  const checked = new Set<string>();
  const halfWritten = new Set<string>();
  let stopped = false;
  const get = (path: string, method = 'GET') =>
    client
      .send(`${base}${path}`, {
        method,
        headers: {
          Authorization: auth,
          [Headers.accept]: [MediaTypes.ociManifest, MediaTypes.dockerManifest].join(', '),
        },
        timeoutMs: 10_000,
      })
      .catch(() => undefined);

  const checkTag = async (tag: string) => {
    const manifest = await get(`/v2/${repository}/manifests/${tag}`);
    if (manifest?.status === 404) halfWritten.add(`${tag}: manifest 404`);
    if (manifest?.status !== 200) return;
    let whole = true;
    for (const digest of blobsOf(manifest.body)) {
      const blob = await get(`/v2/${repository}/blobs/${digest}`, 'HEAD');
      if (blob?.status === 404) halfWritten.add(`${tag}: blob ${digest} 404`);
      if (blob?.status !== 200 && blob?.status !== 307) whole = false;
    }
    if (whole) checked.add(tag);
  };

  const rounds = (async () => {
    while (!stopped) {
      const listed = await get(`/v2/${repository}/tags/list`);
      if (listed?.status === 200) {
        const { tags } = JSON.parse(listed.body.toString()) as { tags: string[] | null };
        for (const tag of tags ?? []) if (!checked.has(tag)) await checkTag(tag);
      }
      await sleep(250);
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      await rounds;
      return { checked: [...checked].sort(), halfWritten: [...halfWritten] };
    },
  };
}
