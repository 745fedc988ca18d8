import { buffer } from 'node:stream/consumers';
import { Digest } from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Referrer } from '../store/referrer-store';
import type { TagRow } from '../store/repository-listing';
import type { Repository } from '../store/repository-store';
import { type ManifestFacts, manifestFacts } from './repository-manifest-facts';

/** The largest manifest read (the registry refuses larger ones on push). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/**
 * Manifest bytes one page reads at most: past it, further tags show no kind or size details (a
 * user who pushes large manifests cannot make every view of a page read hundreds of MiB).
 */
const PAGE_MANIFEST_BUDGET = 8 * 1024 * 1024;
/** An index with more manifests shows its platform count, not a summed size. */
const MAX_SUMMED_CHILDREN = 16;
/** Referrers listed per tag; more are counted as "more". */
export const REFERRERS_SHOWN = 5;

/** A tag as the tags table shows it. */
export interface TagDetails {
  readonly tag: TagRow;
  readonly facts: ManifestFacts;
  /** Config and layers (an index: of all its manifests); undefined when not known. */
  readonly totalBytes: number | undefined;
  readonly referrers: readonly Referrer[];
  /** True when the manifest has more referrers than {@link REFERRERS_SHOWN}. */
  readonly moreReferrers: boolean;
}

/** Reads manifests of one repository, each once per page, within the page's byte budget. */
class ManifestReader {
  private readonly read = new Map<string, Promise<ManifestFacts | undefined>>();
  private budget = PAGE_MANIFEST_BUDGET;

  constructor(
    private readonly services: DtrServices,
    private readonly repository: Repository,
  ) {}

  /** The facts of a stored manifest; undefined if it is not in the repository or unreadable. */
  facts(digest: string, mediaType?: string, size?: number): Promise<ManifestFacts | undefined> {
    let facts = this.read.get(digest);
    if (!facts) {
      facts = this.load(digest, mediaType, size);
      this.read.set(digest, facts);
    }
    return facts;
  }

  private async load(
    digest: string,
    knownType: string | undefined,
    knownSize: number | undefined,
  ): Promise<ManifestFacts | undefined> {
    let mediaType = knownType;
    let size = knownSize;
    if (mediaType === undefined || size === undefined) {
      const stored = await this.services.repositories.manifest(this.repository, digest);
      if (!stored) return undefined;
      ({ mediaType, size } = stored);
    }
    if (size > MAX_MANIFEST_BYTES || size > this.budget) return manifestFacts(mediaType, undefined);
    this.budget -= size;
    try {
      const { stream } = await this.services.blobs.open(Digest.parse(digest));
      return manifestFacts(mediaType, JSON.parse((await buffer(stream)).toString('utf8')));
    } catch (error) {
      this.services.logger.warn('manifest unreadable for the repository page', {
        repository: this.repository.fullName,
        digest,
        error,
      });
      return manifestFacts(mediaType, undefined);
    }
  }

  /** An index's total: the sum of its manifests' contents, if there are few and all are read. */
  async indexBytes(facts: ManifestFacts): Promise<number | undefined> {
    if (facts.children.length === 0 || facts.children.length > MAX_SUMMED_CHILDREN)
      return undefined;
    let total = 0;
    for (const child of facts.children) {
      const childFacts = await this.facts(child.digest);
      if (childFacts?.contentBytes === undefined) return undefined;
      total += childFacts.contentBytes;
    }
    return total;
  }
}

/**
 * What the tags table shows of `tags` (one page of them): each manifest's kind, size and
 * platforms, read from its JSON in the blob store, and the referrers of its digest (from the
 * referrer store the referrers API answers from).
 */
export async function tagDetails(
  services: DtrServices,
  repository: Repository,
  tags: readonly TagRow[],
): Promise<TagDetails[]> {
  const reader = new ManifestReader(services, repository);
  const details: TagDetails[] = [];
  for (const tag of tags) {
    const facts = (await reader.facts(tag.digest, tag.mediaType, tag.size)) ?? {
      kind: 'image',
      contentBytes: undefined,
      platforms: [],
      children: [],
    };
    const referrers = await services.referrers.referrers(repository, tag.digest, {
      limit: REFERRERS_SHOWN + 1,
    });
    details.push({
      tag,
      facts,
      totalBytes: facts.kind === 'index' ? await reader.indexBytes(facts) : facts.contentBytes,
      referrers: referrers.slice(0, REFERRERS_SHOWN),
      moreReferrers: referrers.length > REFERRERS_SHOWN,
    });
  }
  return details;
}
