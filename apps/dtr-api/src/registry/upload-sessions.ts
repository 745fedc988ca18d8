import { randomBytes } from 'node:crypto';
import type { BlobWriter } from '@dtr-cache/blob-store';
import { RegistryError } from '@dtr-cache/registry-protocol';

/** A blob upload in progress: bytes go to a blob-store writer until the final PUT commits them. */
export interface UploadSession {
  readonly id: string;
  readonly repositoryId: number;
  readonly writer: BlobWriter;
  readonly startedAt: Date;
  lastActivity: number;
  /** True while a request streams into the session (requests on one session are serialized). */
  busy: boolean;
}

/**
 * Upload sessions of this process. Sessions idle for longer than `idleTimeoutMs` are cancelled
 * (their bytes discarded) by a periodic sweep.
 */
export class UploadSessions {
  private readonly sessions = new Map<string, UploadSession>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly idleTimeoutMs = 60 * 60 * 1000) {
    this.timer = setInterval(() => void this.sweep(), Math.min(idleTimeoutMs, 60_000));
    this.timer.unref();
  }

  start(repositoryId: number, writer: BlobWriter): UploadSession {
    const session: UploadSession = {
      id: randomBytes(18).toString('base64url'),
      repositoryId,
      writer,
      startedAt: new Date(),
      lastActivity: Date.now(),
      busy: false,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * The session `id` of repository `repositoryId`, marked busy until `release`.
   * @throws RegistryError `BLOB_UPLOAD_UNKNOWN` (also for another repository's session),
   *   `BLOB_UPLOAD_INVALID` while another request uses the session.
   */
  acquire(id: string, repositoryId: number): UploadSession {
    const session = this.sessions.get(id);
    if (!session || session.repositoryId !== repositoryId) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uploadId: id } });
    }
    if (session.busy) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', {
        detail: { uploadId: id },
      });
    }
    session.busy = true;
    session.lastActivity = Date.now();
    return session;
  }

  release(session: UploadSession): void {
    session.busy = false;
    session.lastActivity = Date.now();
  }

  /** Forgets a session whose writer was committed or cancelled. */
  remove(session: UploadSession): void {
    this.sessions.delete(session.id);
  }

  async cancel(session: UploadSession): Promise<void> {
    this.sessions.delete(session.id);
    await session.writer.cancel();
  }

  get size(): number {
    return this.sessions.size;
  }

  async sweep(now = Date.now()): Promise<number> {
    const idle = [...this.sessions.values()].filter(
      (session) => !session.busy && now - session.lastActivity > this.idleTimeoutMs,
    );
    await Promise.all(idle.map((session) => this.cancel(session)));
    return idle.length;
  }

  /** Cancels every session (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.sessions.values()].map((session) => this.cancel(session)));
  }
}
