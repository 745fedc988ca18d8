import { buffer } from 'node:stream/consumers';
import type { Context } from 'koa';
import {
  Digest,
  Headers,
  isIndexMediaType,
  MediaTypes,
  registryPaths,
} from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Referrer, ReferrerFields } from '../store/referrer-store';
import type { Repository } from '../store/repository-store';
import { pageRequest } from './listing-handlers';
import { isJsonObject } from './manifest-descriptor';
import { referrerFieldsOf } from './manifest-referrer';
import { authorizeRepository } from './registry-access';

/** The descriptors of a referrers tag (distribution-spec 1.1 fallback) examined per request. */
const MAX_ADOPTED = 1000;
/** The largest referrers tag index read (1000 descriptors take about 250 kB). */
const MAX_TAG_INDEX_BYTES = 1024 * 1024;

/** The tag the referrers tag schema gives `digest`: `<algorithm>-<hex>`, truncated as the spec says. */
export function referrersTag(digest: Digest): string {
  return `${digest.algorithm.slice(0, 32)}-${digest.hex.slice(0, 64)}`;
}

/** A stored manifest's JSON (manifests are at most 4 MiB: PUT refuses larger ones). */
async function readManifest(services: DtrServices, digest: string): Promise<unknown> {
  const { stream } = await services.blobs.open(Digest.parse(digest));
  return JSON.parse((await buffer(stream)).toString('utf8'));
}

/**
 * Lists among the referrers of `subject` the manifests a client recorded under the referrers tag
 * schema while DTR had no referrers API (they were pushed with a `subject` DTR did not index):
 * each manifest that index lists, is in the repository and was never examined is read once and
 * its `subject` recorded (this digest, another, or none). Costs one query without such a tag; an
 * index over 1 MiB is not read, and at most 1000 of its entries are.
 */
async function adoptReferrersTag(
  services: DtrServices,
  repository: Repository,
  subject: Digest,
): Promise<void> {
  const tagged = await services.repositories.taggedManifest(repository, referrersTag(subject));
  if (!tagged || !isIndexMediaType(tagged.mediaType) || tagged.size > MAX_TAG_INDEX_BYTES) return;
  const adoptions = adoptionsOf(services);
  const key = `${repository.id} ${subject.toString()} ${tagged.digest}`;
  // Requests that arrive together wait for one adoption: each manifest is read once, not once
  // per request.
  let running = adoptions.running.get(key);
  if (!running) {
    running = adoptIndex(services, repository, tagged.digest).finally(() =>
      adoptions.running.delete(key),
    );
    adoptions.running.set(key, running);
  }
  await running;
}

/** Reads the manifests a referrers tag index lists and records their `subject`, in one commit. */
async function adoptIndex(
  services: DtrServices,
  repository: Repository,
  indexDigest: string,
): Promise<void> {
  const index = await readManifest(services, indexDigest).catch(() => undefined);
  const listed = isJsonObject(index) && Array.isArray(index['manifests']) ? index['manifests'] : [];
  const digests = listed
    .slice(0, MAX_ADOPTED)
    .map((entry: unknown) => (isJsonObject(entry) ? entry['digest'] : undefined))
    .filter((digest): digest is string => typeof digest === 'string' && digest !== indexDigest);
  const examined: Array<{ digest: string; fields: ReferrerFields | undefined }> = [];
  for (const manifest of await services.referrers.unrecorded(repository, digests)) {
    let fields: ReferrerFields | undefined;
    try {
      const document = await readManifest(services, manifest.digest);
      fields = isJsonObject(document) ? referrerFieldsOf(manifest.mediaType, document) : undefined;
    } catch {
      // Not a manifest with a valid subject: not a referrer.
    }
    // Recorded either way (a referrer of this digest, of another, or of none): read once only.
    examined.push({ digest: manifest.digest, fields });
  }
  await services.referrers.recordAll(repository, examined);
}

/** Adoptions under way, per referrer store (one per DTR process and database). */
interface Adoptions {
  /** By repository id, subject digest and the digest of the index adopted. */
  readonly running: Map<string, Promise<void>>;
}

const adoptionsByStore = new WeakMap<object, Adoptions>();

function adoptionsOf(services: DtrServices): Adoptions {
  let adoptions = adoptionsByStore.get(services.referrers);
  if (!adoptions) {
    adoptions = { running: new Map() };
    adoptionsByStore.set(services.referrers, adoptions);
  }
  return adoptions;
}

function descriptorOf(referrer: Referrer): Record<string, unknown> {
  return {
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType === undefined ? {} : { artifactType: referrer.artifactType }),
    ...(referrer.annotations === undefined ? {} : { annotations: referrer.annotations }),
  };
}

/**
 * `GET /v2/<name>/referrers/<digest>?artifactType=&n=&last=`: an OCI image index of the manifests
 * of the repository whose `subject` is `digest` (an empty one when there are none), filtered by
 * artifact type when asked (`OCI-Filters-Applied: artifactType`), paginated with `Link` as tags
 * are. Pull access to the repository is required, as for its manifests.
 */
export async function listReferrers(
  ctx: Context,
  services: DtrServices,
  name: string,
  subject: Digest,
): Promise<void> {
  const repository = await authorizeRepository(ctx, services, name, 'pull');
  const requested = ctx.query['artifactType'];
  const artifactType = typeof requested === 'string' && requested !== '' ? requested : undefined;
  const { limit, after } = pageRequest(ctx);
  if (after === undefined) await adoptReferrersTag(services, repository, subject);
  const referrers = await services.referrers.referrers(repository, subject.toString(), {
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(after === undefined ? {} : { after }),
    limit: limit + 1,
  });
  const page = referrers.slice(0, limit);
  if (referrers.length > limit && page.length > 0) {
    const next = registryPaths.referrers(repository.fullName, subject, {
      ...(artifactType === undefined ? {} : { artifactType }),
      n: limit,
      last: page.at(-1)?.digest,
    });
    ctx.set(Headers.link, `<${next}>; rel="next"`);
  }
  if (artifactType !== undefined) ctx.set(Headers.ociFiltersApplied, 'artifactType');
  ctx.type = MediaTypes.ociIndex;
  ctx.body = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: page.map(descriptorOf),
  };
}
