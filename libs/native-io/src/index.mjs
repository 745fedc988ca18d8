import { createRequire } from 'node:module';
import { constants } from 'node:os';

/** The addon, or null where it was not built (no compiler at install, another platform). */
function load() {
  try {
    return createRequire(import.meta.url)('../build/Release/native_io.node');
  } catch {
    return null;
  }
}

const addon = load();

/** True if {@link sendFile} can send on this system. */
export const canSendFile = addon !== null;

/**
 * Sends `length` bytes of the file open as `fileFd`, from `offset`, to the connected socket
 * `socketFd` with sendfile(2), from a thread of its own: no byte passes through user space. Both
 * descriptors are duplicated before this returns, so the caller may close its own at once. The
 * transfer ends when every byte is sent, on a socket error, after `timeoutMs` without progress, or
 * soon after `cancel()`; then `done(error, sent)` is called once, with `error` undefined or an
 * Error whose `code` is the errno name (`ETIMEDOUT`, `ECANCELED`, `EPIPE`, `ENODATA` for a file
 * shorter than the region…), and the bytes sent.
 * @returns a function that cancels the transfer, or undefined if none can start now (too many
 *   under way, no addon): the caller sends the bytes itself.
 * @throws TypeError for arguments out of range.
 */
export function sendFile(socketFd, fileFd, offset, length, timeoutMs, done) {
  if (!addon) return undefined;
  const handle = addon.sendFile(socketFd, fileFd, offset, length, timeoutMs, (errno, sent) => {
    done(errno === 0 ? undefined : errnoError(errno), sent);
  });
  if (handle === null) return undefined;
  return () => addon.cancel(handle);
}

function errnoError(errno) {
  const code =
    Object.entries(constants.errno).find(([, value]) => value === errno)?.[0] ?? `E${errno}`;
  return Object.assign(new Error(`sendfile failed: ${code}`), { code, errno });
}
