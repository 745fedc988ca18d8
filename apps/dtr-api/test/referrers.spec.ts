/**
 * OCI distribution-spec 1.1 referrers at DTR: `OCI-Subject` on a PUT with a `subject`, and
 * `GET /v2/<name>/referrers/<digest>` (artifact types, annotations, the filter, deletes,
 * pagination, authorization, and manifests a client recorded under the referrers tag schema).
 */
import { Digest, MediaTypes, type OciDescriptor } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database';
import { type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let alice: string;
let bob: string;
const repository = 'alice/signed';
/** The empty config of artifacts (`{}`), pushed once. */
let empty: { digest: Digest; size: number };

const SIGNATURE = 'application/vnd.example.signature.v1';
const SBOM = 'application/vnd.example.sbom.v1';

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  bob = await dtr.createUser('bob');
  const content = Buffer.from('{}');
  empty = { digest: await dtr.pushBlob(repository, content, alice), size: content.length };
});
afterAll(async () => dtr.close());

const descriptor = (mediaType: string, body: string): OciDescriptor => ({
  mediaType,
  digest: Digest.of(body).toString(),
  size: Buffer.byteLength(body),
});

/** An OCI image manifest: an artifact when `artifactType` is given, with its config's type otherwise. */
function manifest(options: {
  subject?: OciDescriptor;
  artifactType?: string;
  configType?: string;
  annotations?: Record<string, string>;
  layer?: string;
}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: {
      mediaType: options.configType ?? MediaTypes.ociEmpty,
      digest: empty.digest.toString(),
      size: empty.size,
    },
    layers: [],
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
    // Distinct manifests of the same shape.
    ...(options.layer ? { annotations: { ...options.annotations, layer: options.layer } } : {}),
  });
}

async function put(reference: string, body: string, mediaType: string = MediaTypes.ociManifest) {
  return dtr.fetch(`/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    authorization: alice,
    headers: { 'Content-Type': mediaType },
    body,
  });
}

async function referrers(digest: string, query = '', authorization = alice) {
  return dtr.fetch(`/v2/${repository}/referrers/${digest}${query}`, { authorization });
}

async function indexOf(response: Response): Promise<OciDescriptor[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(MediaTypes.ociIndex);
  const body = (await response.json()) as {
    schemaVersion: number;
    mediaType: string;
    manifests: OciDescriptor[];
  };
  expect(body).toMatchObject({ schemaVersion: 2, mediaType: MediaTypes.ociIndex });
  return body.manifests;
}

describe('the referrers of a manifest', () => {
  let image: OciDescriptor;

  beforeAll(async () => {
    const body = manifest({ configType: MediaTypes.ociConfig });
    image = descriptor(MediaTypes.ociManifest, body);
    expect((await put('v1', body)).status).toBe(201);
  });

  it('answers an empty index for a digest nothing refers to, and 400 for a malformed digest', async () => {
    expect(await indexOf(await referrers(image.digest))).toEqual([]);
    expect(await indexOf(await referrers(Digest.of('nothing at all').toString()))).toEqual([]);
    const malformed = await referrers('sha256:not-a-digest');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ errors: [{ code: 'DIGEST_INVALID' }] });
  });

  it('answers OCI-Subject on a PUT with a subject, also when the subject is not in the repository', async () => {
    const absent = descriptor(MediaTypes.ociManifest, 'an image pushed later');
    const body = manifest({ subject: absent, artifactType: SIGNATURE });
    const answer = await put(Digest.of(body).toString(), body);
    expect(answer.status).toBe(201);
    expect(answer.headers.get('oci-subject')).toBe(absent.digest);
    expect((await indexOf(await referrers(absent.digest))).map((d) => d.digest)).toEqual([
      Digest.of(body).toString(),
    ]);
    // Without a subject there is no OCI-Subject.
    const plain = manifest({ configType: MediaTypes.ociConfig, layer: 'plain' });
    expect((await put('plain', plain)).headers.get('oci-subject')).toBeNull();
  });

  it('lists each referrer with its artifact type (or its config type) and annotations; an index without one', async () => {
    const signature = manifest({
      subject: image,
      artifactType: SIGNATURE,
      annotations: { 'org.example.signer': 'alice' },
    });
    const sbom = manifest({ subject: image, configType: SBOM });
    const bundle = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [],
      subject: image,
      annotations: { 'org.opencontainers.image.created': '2026-12-07T00:00:00Z' },
    });
    for (const [body, mediaType] of [
      [signature, MediaTypes.ociManifest],
      [sbom, MediaTypes.ociManifest],
      [bundle, MediaTypes.ociIndex],
    ] as const) {
      const answer = await put(Digest.of(body).toString(), body, mediaType);
      expect(answer.status, await answer.clone().text()).toBe(201);
      expect(answer.headers.get('oci-subject')).toBe(image.digest);
    }
    const listed = await indexOf(await referrers(image.digest));
    const expected: OciDescriptor[] = [
      {
        ...descriptor(MediaTypes.ociManifest, signature),
        artifactType: SIGNATURE,
        annotations: { 'org.example.signer': 'alice' },
      },
      { ...descriptor(MediaTypes.ociManifest, sbom), artifactType: SBOM },
      {
        ...descriptor(MediaTypes.ociIndex, bundle),
        annotations: { 'org.opencontainers.image.created': '2026-12-07T00:00:00Z' },
      },
    ];
    expect(listed).toEqual(expected.sort((a, b) => (a.digest < b.digest ? -1 : 1)));
  });

  it('filters by artifactType and says so with OCI-Filters-Applied', async () => {
    const answer = await referrers(image.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
    expect(answer.headers.get('oci-filters-applied')).toBe('artifactType');
    const listed = await indexOf(answer);
    expect(listed.map((d) => d.artifactType)).toEqual([SBOM]);
    const unfiltered = await referrers(image.digest);
    expect(unfiltered.headers.get('oci-filters-applied')).toBeNull();
  });

  it('refuses a malformed subject, and checks nothing new in manifests without one', async () => {
    const broken = JSON.stringify({
      ...JSON.parse(manifest({ artifactType: SIGNATURE })),
      subject: { mediaType: MediaTypes.ociManifest, digest: 'sha256:nope', size: 1 },
    });
    const refused = await put(Digest.of(broken).toString(), broken);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ errors: [{ code: 'MANIFEST_INVALID' }] });
    const lenient = JSON.stringify({
      ...JSON.parse(manifest({ configType: MediaTypes.ociConfig, layer: 'lenient' })),
      annotations: null,
      artifactType: null,
    });
    expect((await put('lenient', lenient)).status).toBe(201);
  });

  it('drops a deleted referrer from the index', async () => {
    const body = manifest({ subject: image, artifactType: 'application/vnd.example.gone' });
    const digest = Digest.of(body).toString();
    expect((await put(digest, body)).status).toBe(201);
    expect((await indexOf(await referrers(image.digest))).map((d) => d.digest)).toContain(digest);
    const deleted = await dtr.fetch(`/v2/${repository}/manifests/${digest}`, {
      method: 'DELETE',
      authorization: alice,
    });
    expect(deleted.status).toBe(202);
    expect((await indexOf(await referrers(image.digest))).map((d) => d.digest)).not.toContain(
      digest,
    );
  });

  it('paginates with n and a Link to the next page, keeping the filter', async () => {
    const subject = descriptor(MediaTypes.ociManifest, 'a much-signed image');
    const digests: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const body = manifest({ subject, artifactType: SIGNATURE, layer: String(index) });
      expect((await put(Digest.of(body).toString(), body)).status).toBe(201);
      digests.push(Digest.of(body).toString());
    }
    const seen: string[] = [];
    let next: string | undefined =
      `/v2/${repository}/referrers/${subject.digest}?artifactType=${encodeURIComponent(SIGNATURE)}&n=2`;
    let pages = 0;
    while (next) {
      const answer = await dtr.fetch(next, { authorization: alice });
      seen.push(...(await indexOf(answer)).map((d) => d.digest));
      const link = answer.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      if (next) expect(next).toContain('artifactType=');
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...digests].sort());
  });

  it('caps a page at 1000 descriptors: a larger n is refused, as for tags', async () => {
    const refused = await referrers(image.digest, '?n=1001');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      errors: [{ code: 'PAGINATION_NUMBER_INVALID', detail: { maximum: 1000 } }],
    });
    expect((await referrers(image.digest, '?n=1000')).status).toBe(200);
  });

  it('is for those who may pull the repository: another user cannot tell it from a missing one', async () => {
    const refused = await referrers(image.digest, '', bob);
    const missing = await dtr.fetch(`/v2/alice/missing/referrers/${image.digest}`, {
      authorization: bob,
    });
    expect(refused.status).toBe(missing.status);
    const codeOf = async (answer: Response) =>
      ((await answer.json()) as { errors: Array<{ code: string }> }).errors.map((e) => e.code);
    expect(await codeOf(refused)).toEqual(await codeOf(missing));
    const anonymous = await dtr.fetch(`/v2/${repository}/referrers/${image.digest}`);
    expect(anonymous.status).toBe(401);
  });

  it('lists manifests a client recorded under the referrers tag schema before the API existed', async () => {
    // As a client does against a registry without the API: the referrer is pushed, and an index
    // of referrers is pushed to the tag `sha256-<hex>` of the subject.
    const subject = descriptor(MediaTypes.ociManifest, 'an image signed long ago');
    const signature = manifest({ subject, artifactType: SIGNATURE, layer: 'old' });
    const signatureDigest = Digest.of(signature).toString();
    expect((await put(signatureDigest, signature)).status).toBe(201);
    const other = manifest({
      subject: descriptor(MediaTypes.ociManifest, 'another image'),
      artifactType: SIGNATURE,
      layer: 'other',
    });
    expect((await put(Digest.of(other).toString(), other)).status).toBe(201);
    const plain = manifest({ configType: MediaTypes.ociConfig, layer: 'no subject' });
    const plainDigest = Digest.of(plain).toString();
    expect((await put(plainDigest, plain)).status).toBe(201);
    // Forget what the PUTs indexed, as for manifests pushed before this release.
    const { database } = await openDatabase(dtr.database.location);
    const subjectOf = async (digest: string) =>
      (
        await database
          .selectFrom('manifests')
          .select('subject_digest')
          .where('digest', '=', digest)
          .executeTakeFirstOrThrow()
      ).subject_digest;
    try {
      await database
        .updateTable('manifests')
        .set({ subject_digest: null, artifact_type: null, annotations: null })
        .where('digest', 'in', [signatureDigest, plainDigest])
        .execute();
      expect(await indexOf(await referrers(subject.digest))).toEqual([]);
      const fallback = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          { ...descriptor(MediaTypes.ociManifest, signature), artifactType: SIGNATURE },
          // A listed manifest whose subject is another digest is not a referrer of this one.
          { ...descriptor(MediaTypes.ociManifest, other), artifactType: SIGNATURE },
          // Nor is one without a subject.
          descriptor(MediaTypes.ociManifest, plain),
        ],
      });
      const tag = `sha256-${Digest.parse(subject.digest).hex}`;
      expect((await put(tag, fallback, MediaTypes.ociIndex)).status).toBe(201);
      expect((await indexOf(await referrers(subject.digest))).map((d) => d.digest)).toEqual([
        signatureDigest,
      ]);
      // Each listed manifest was examined once and recorded: the next request reads none of them.
      expect(await subjectOf(signatureDigest)).toBe(subject.digest);
      expect(await subjectOf(plainDigest)).toBe('');
    } finally {
      await database.destroy();
    }
  });
  it('answers a first request from the index the tag names now, not one an earlier request still reads', async () => {
    const subject = descriptor(MediaTypes.ociManifest, 'an image signed twice, long ago');
    const first = manifest({ subject, artifactType: SIGNATURE, layer: 'first signature' });
    const second = manifest({ subject, artifactType: SIGNATURE, layer: 'second signature' });
    const [firstDigest, secondDigest] = [first, second].map((body) => Digest.of(body).toString());
    for (const body of [first, second])
      expect((await put(Digest.of(body).toString(), body)).status).toBe(201);
    const { database } = await openDatabase(dtr.database.location);
    const store = dtr.services.referrers;
    const unrecorded = store.unrecorded.bind(store);
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    try {
      await database
        .updateTable('manifests')
        .set({ subject_digest: null, artifact_type: null, annotations: null })
        .where('digest', 'in', [firstDigest as string, secondDigest as string])
        .execute();
      const tag = `sha256-${Digest.parse(subject.digest).hex}`;
      const indexListing = (...bodies: string[]) =>
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociIndex,
          manifests: bodies.map((body) => descriptor(MediaTypes.ociManifest, body)),
        });
      expect((await put(tag, indexListing(first), MediaTypes.ociIndex)).status).toBe(201);
      // The first request's reading of the manifests is held until released.
      store.unrecorded = async (...args) => {
        calls += 1;
        if (calls === 1) await gate;
        return unrecorded(...args);
      };
      const early = referrers(subject.digest);
      await expect.poll(() => calls).toBe(1);
      // The client moves the tag to an index listing both signatures.
      expect((await put(tag, indexListing(first, second), MediaTypes.ociIndex)).status).toBe(201);
      const late = await Promise.race([
        referrers(subject.digest).then(indexOf),
        new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 2000)),
      ]);
      release();
      expect(late === 'held' ? late : late.map((each) => each.digest)).toEqual(
        [firstDigest, secondDigest].sort(),
      );
      expect((await early).status).toBe(200);
    } finally {
      release();
      store.unrecorded = unrecorded;
      await database.destroy();
    }
  });
});
