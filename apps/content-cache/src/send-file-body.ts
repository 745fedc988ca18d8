import type { ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FileRegion, OpenBlob } from '@dtr-cache/blob-store';
import { canSendFile, sendFile } from '@dtr-cache/native-io';
import type { SendTimeout } from './send-timeout';

/** Blobs on disk from this size on go out with sendfile; smaller ones are read and written. */
export const SENDFILE_MIN_BYTES = 256 * 1024;
/** How often a head not yet taken by the socket is looked at again. */
const HEAD_CHECK_MS = 5;

/**
 * True if `blob` can go out with sendfile on `response`: a region of a file on local disk, large
 * enough, on a plain-HTTP socket (TLS encrypts in user space), where the addon is built.
 */
export function canSendFileBody(
  response: ServerResponse,
  blob: OpenBlob,
): blob is OpenBlob & { file: FileRegion } {
  const socket = response.socket as TLSSocket | null;
  return (
    canSendFile &&
    blob.file !== undefined &&
    blob.file.length >= SENDFILE_MIN_BYTES &&
    socket !== null &&
    !socket.encrypted
  );
}

/**
 * Sends the body of a response whose head is written with sendfile(2), from a thread of its own
 * (`@dtr-cache/native-io`): no byte passes through this process's memory, and a client that
 * stops reading holds no buffer. The head is flushed first, and the transfer starts once the
 * socket took it. The transfer times out by itself after `timeout`'s time without progress; a
 * client that goes away cancels it. `stream` (the blob's, never read) holds the file open until
 * the transfer ended. If no transfer can start now (too many under way), `fallback` sends the
 * body instead.
 */
export function sendFileBody(
  response: ServerResponse,
  blob: OpenBlob & { file: FileRegion },
  timeout: SendTimeout,
  onBytes: (count: number) => void,
  fallback: () => void,
): void {
  const socket = response.socket;
  if (!socket) return fallback();
  response.flushHeaders();
  const start = () => {
    if (response.destroyed) {
      blob.stream.destroy();
      return;
    }
    // The head must have left before the body's first byte: waited for (rarely) while queued,
    // within the send timeout.
    if (socket.writableLength > 0) {
      timeout.waiting();
      setTimeout(start, HEAD_CHECK_MS);
      return;
    }
    timeout.progressed();
    const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    const cancel =
      typeof fd === 'number' && fd >= 0
        ? sendFile(fd, blob.file.fd, blob.file.offset, blob.file.length, timeout.timeoutMs, done)
        : undefined;
    if (!cancel) return fallback();
    response.once('close', cancel);
  };
  const done = (error: (Error & { code: string }) | undefined, sent: number) => {
    blob.stream.destroy();
    onBytes(sent);
    if (response.destroyed) return;
    if (!error) {
      response.end();
      return;
    }
    if (error.code === 'ETIMEDOUT') timeout.expired = true;
    response.destroy();
  };
  start();
}
