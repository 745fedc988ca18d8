/** One `blob request` line of a content cache's text log. */
export interface BlobRequestLine {
  readonly method: string;
  readonly digest: string;
  /** hit, miss, coalesced, head, denied, pass-through, … */
  readonly cache: string;
}

/**
 * The `blob request` lines among a content cache's text (logfmt) log lines, in order: how
 * end-to-end tests tell which hop served a blob, as an operator would.
 */
export function blobRequests(lines: readonly string[]): BlobRequestLine[] {
  return lines
    .filter((line) => line.includes('msg="blob request"'))
    .map((line) => ({
      method: /\bmethod=(\S+)/.exec(line)?.[1] ?? '',
      digest: /\bdigest=(\S+)/.exec(line)?.[1] ?? '',
      cache: /\bcache=(\S+)/.exec(line)?.[1] ?? '',
    }));
}

/** `cache=` of the GET requests for `digest`, in order (e.g. `['miss', 'hit']`). */
export function getResults(lines: readonly string[], digest: string): string[] {
  return blobRequests(lines)
    .filter((line) => line.method === 'GET' && line.digest === digest)
    .map((line) => line.cache);
}
