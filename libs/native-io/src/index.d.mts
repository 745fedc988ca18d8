/** True if {@link sendFile} can send on this system. */
export declare const canSendFile: boolean;

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
export declare function sendFile(
  socketFd: number,
  fileFd: number,
  offset: number,
  length: number,
  timeoutMs: number,
  done: (error: (Error & { code: string; errno: number }) | undefined, sent: number) => void,
): (() => void) | undefined;
