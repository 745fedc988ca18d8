import { randomBytes } from 'node:crypto';
import {
  type BlobInfo,
  FileNotFoundError,
  type ResumableBlobStore,
  type ResumableBlobWriter,
  type TempFileInfo,
} from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';
import { type Digest, type DigestHasher, RegistryError } from '@dtr-cache/registry-protocol';
import type {
  SessionClaim,
  UploadSessionRecord,
  UploadSessionStore,
} from '../store/upload-session-store';

/** Options of {@link UploadSessions}. */
export interface UploadSessionOptions {
  /** Sessions one account may have open at once. */
  readonly maxPerAccount: number;
  /** Sessions open at once for all accounts. */
  readonly maxSessions: number;
  /** A session without a request for this long ends, and its bytes are removed. */
  readonly idleTimeoutMs: number;
}

/** A session taken by one request: write to `writer`, then {@link UploadSessions.release} it. */
export interface ActiveUpload {
  readonly record: UploadSessionRecord;
  readonly writer: ResumableBlobWriter;
}

/** How long a request's claim on a session holds unless renewed (a dead replica's runs out). */
const CLAIM_MS = 60_000;
/** How often a request still writing renews its claim. */
const CLAIM_RENEWAL_MS = 20_000;

/**
 * Blob upload sessions (`POST /v2/<name>/blobs/uploads/` to the final `PUT`): kept in the
 * database, their bytes in a temp file each (on the storage root every replica shares), so any
 * replica continues a session another one started. Between requests a session holds no open file — a
 * request opens it, writes, and closes it again — so idle sessions cost no descriptors, and a
 * restarted DTR resumes them (the bytes are hashed again once, the running digest being lost).
 * Sessions are capped per account and in all (429 `TOOMANYREQUESTS` with `Retry-After`: when the
 * oldest of them would expire), and end after `idleTimeoutMs` without a request. One request at a
 * time per session, across replicas: a request claims its session in the database (renewed while
 * it writes; a claim of a replica that died runs out after a minute).
 */
export class UploadSessions {
  /** This process, as the owner of the claims its requests hold. */
  private readonly owner = randomBytes(9).toString('base64url');
  /** Renewals of the claims this process's requests hold, by session. */
  private readonly renewals = new Map<string, NodeJS.Timeout>();
  /** Running digests of sessions this process wrote last (saves hashing their bytes again). */
  private readonly hashers = new Map<string, DigestHasher>();
  /** Uploads committed or cancelled: releasing them again does nothing. */
  private readonly ended = new WeakSet<ActiveUpload>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: UploadSessionStore,
    private readonly blobs: ResumableBlobStore,
    private readonly removeStaleTempFiles: (
      keep: (file: TempFileInfo) => boolean,
    ) => Promise<number>,
    private readonly options: UploadSessionOptions,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(
      () =>
        void this.sweep().catch((error: unknown) => logger.error('upload sweep failed', { error })),
      Math.max(1000, Math.min(options.idleTimeoutMs / 4, 60_000)),
    );
    this.timer.unref();
  }

  /**
   * Starts a session of `accountId` in repository `repositoryId`, taken by the calling request.
   * @throws RegistryError `TOOMANYREQUESTS` (with `Retry-After`) when a cap is reached.
   */
  async start(repositoryId: number, accountId: number): Promise<ActiveUpload> {
    const writer = await this.blobs.create();
    const now = new Date();
    const record: UploadSessionRecord = {
      id: randomBytes(18).toString('base64url'),
      repositoryId,
      accountId,
      tempKey: writer.uploadKey,
      size: 0,
      startedAt: now,
      activeAt: now,
    };
    const refused = await this.store.insert(
      record,
      { perAccount: this.options.maxPerAccount, total: this.options.maxSessions },
      this.claimFrom(now),
    );
    if (refused) {
      await writer.cancel();
      const retryAfter = Math.min(
        Math.ceil(this.options.idleTimeoutMs / 1000),
        Math.max(
          1,
          Math.ceil(
            (refused.oldestActivity.getTime() + this.options.idleTimeoutMs - now.getTime()) / 1000,
          ),
        ),
      );
      this.logger.warn('upload session refused', {
        cap: refused.cap,
        limit: refused.limit,
        accountId,
      });
      throw new RegistryError(
        'TOOMANYREQUESTS',
        refused.cap === 'account'
          ? `too many upload sessions open for this account (at most ${refused.limit}): finish or cancel some`
          : `too many upload sessions open (at most ${refused.limit}): retry later`,
        {
          headers: { 'Retry-After': String(retryAfter) },
          detail: { limit: refused.limit, retryAfterSeconds: retryAfter },
        },
      );
    }
    this.keepClaimed(record.id);
    return { record, writer };
  }

  /**
   * The session `id` of repository `repositoryId`, without touching its bytes (its status).
   * @throws RegistryError `BLOB_UPLOAD_UNKNOWN` (also for another repository's session).
   */
  async find(id: string, repositoryId: number): Promise<UploadSessionRecord> {
    const record = await this.store.find(id);
    if (!record || record.repositoryId !== repositoryId)
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uploadId: id } });
    return record;
  }

  /**
   * Takes session `id` for the calling request and opens its bytes for writing.
   * @throws RegistryError `BLOB_UPLOAD_UNKNOWN` for an unknown session (or one whose bytes are
   *   gone: it is ended), `BLOB_UPLOAD_INVALID` while another request uses it.
   */
  async acquire(id: string, repositoryId: number): Promise<ActiveUpload> {
    await this.find(id, repositoryId);
    const record = await this.claim(id, repositoryId);
    this.keepClaimed(id);
    try {
      const hasher = this.hashers.get(id);
      const writer = await this.blobs.resume({
        key: record.tempKey,
        size: record.size,
        ...(hasher ? { hasher } : {}),
      });
      return { record, writer };
    } catch (error) {
      this.stopRenewal(id);
      if (!(error instanceof FileNotFoundError)) {
        await this.store.unclaim(id, this.owner);
        throw error;
      }
      // The bytes are gone (removed by hand, a lost disk): the session cannot go on.
      await this.forget(id);
      this.logger.warn('upload session lost its bytes', { uploadId: id });
      throw new RegistryError(
        'BLOB_UPLOAD_UNKNOWN',
        'the bytes of this upload are gone: start again',
        {
          detail: { uploadId: id },
        },
      );
    }
  }

  /** Ends the request's use of a session: its bytes are kept (and closed) for the next request. */
  async release(upload: ActiveUpload): Promise<number> {
    if (this.ended.has(upload)) return upload.writer.size;
    try {
      const suspended = await upload.writer.suspend();
      if (suspended.hasher) this.hashers.set(upload.record.id, suspended.hasher);
      else this.hashers.delete(upload.record.id);
      this.stopRenewal(upload.record.id);
      await this.store.recordActivity(upload.record.id, suspended.size, new Date(), this.owner);
      return suspended.size;
    } catch (error) {
      await this.store.unclaim(upload.record.id, this.owner).catch(() => undefined);
      throw error;
    } finally {
      this.stopRenewal(upload.record.id);
    }
  }

  /**
   * Commits a session's bytes as `digest` and ends it.
   * @throws what {@link ResumableBlobWriter.commit} throws; the session is ended either way.
   */
  async commit(upload: ActiveUpload, digest: Digest): Promise<BlobInfo> {
    this.ended.add(upload);
    try {
      return await upload.writer.commit(digest);
    } finally {
      await this.forget(upload.record.id);
    }
  }

  /**
   * Ends session `id` of repository `repositoryId` and removes its bytes, without opening them.
   * @throws RegistryError `BLOB_UPLOAD_UNKNOWN`, or `BLOB_UPLOAD_INVALID` while a request uses it.
   */
  async end(id: string, repositoryId: number): Promise<void> {
    await this.find(id, repositoryId);
    const record = await this.claim(id, repositoryId);
    await this.forget(id);
    await this.blobs.discard({ key: record.tempKey });
  }

  /** Ends a session taken by the request and removes its bytes. */
  async cancel(upload: ActiveUpload): Promise<void> {
    this.ended.add(upload);
    try {
      await upload.writer.cancel();
    } finally {
      await this.forget(upload.record.id);
    }
  }

  /**
   * Ends sessions idle for longer than the idle timeout (not those a request of this process is
   * using) and removes their bytes, then removes temp files no session owns that were not written
   * for as long (left by a crash, or by sessions deleted with their repository or account).
   * Returns how many sessions ended.
   */
  async sweep(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.options.idleTimeoutMs);
    let ended = 0;
    for (const record of await this.store.idleSince(cutoff, now)) {
      await this.blobs.discard({ key: record.tempKey });
      await this.forget(record.id);
      ended += 1;
    }
    if (ended > 0) this.logger.info('idle upload sessions ended', { count: ended });
    const owned = await this.store.tempKeys();
    const removed = await this.removeStaleTempFiles(
      (file) => owned.has(file.key) || file.modifiedAt >= cutoff,
    );
    if (removed > 0) this.logger.info('abandoned upload bytes removed', { files: removed });
    return ended;
  }

  /** Stops the sweeps. Sessions stay (in the database, their bytes on disk) for the next start. */
  close(): void {
    clearInterval(this.timer);
    for (const id of [...this.renewals.keys()]) this.stopRenewal(id);
  }

  private claimFrom(now: Date): SessionClaim {
    return { owner: this.owner, until: new Date(now.getTime() + CLAIM_MS) };
  }

  /**
   * Claims session `id` for the calling request.
   * @throws RegistryError `BLOB_UPLOAD_INVALID` while another request (of any replica) holds it,
   *   `BLOB_UPLOAD_UNKNOWN` if it is gone.
   */
  private async claim(id: string, repositoryId: number): Promise<UploadSessionRecord> {
    const claimed = await this.store.claim(id, this.claimFrom(new Date()), new Date());
    if (claimed === 'busy') {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', {
        detail: { uploadId: id },
      });
    }
    if (claimed?.repositoryId !== repositoryId) {
      if (claimed) await this.store.unclaim(id, this.owner);
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uploadId: id } });
    }
    return claimed;
  }

  /** Renews the claim on session `id` while its request lasts. */
  private keepClaimed(id: string): void {
    const timer = setInterval(() => {
      void this.store
        .renewClaim(id, this.claimFrom(new Date()))
        .catch((error: unknown) =>
          this.logger.warn('upload claim not renewed', { uploadId: id, error }),
        );
    }, CLAIM_RENEWAL_MS);
    timer.unref();
    this.renewals.set(id, timer);
  }

  private stopRenewal(id: string): void {
    clearInterval(this.renewals.get(id));
    this.renewals.delete(id);
  }

  private async forget(id: string): Promise<void> {
    this.hashers.delete(id);
    this.stopRenewal(id);
    await this.store.delete(id);
  }
}
