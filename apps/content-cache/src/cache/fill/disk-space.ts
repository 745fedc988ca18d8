/** True for a storage error meaning the disk (or quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Free space kept beyond a blob's size when deciding whether it fits: room for the file system's
 * own blocks and for the other fills under way.
 */
export const FREE_SPACE_RESERVE = 64 * 1024 * 1024;
