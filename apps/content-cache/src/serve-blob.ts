import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenBlob } from '@dtr-cache/blob-store';
import {
  BlobGrantError,
  blobAnswerHeaders,
  type Digest,
  etagOf,
  formatContentRange,
  grantFromQuery,
  Headers,
  parseRangeHeader,
  RegistryError,
  rangeLength,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import type { CacheServices } from './app';

/** A blob request, as routed: what it asks for, and its raw query (where the grant is). */
export interface BlobRequest {
  readonly repository: string;
  readonly digest: Digest;
  readonly query: string;
}

/**
 * `GET`/`HEAD /v2/<name>/blobs/<digest>` on Node's own request and response: the cache's one busy
 * route, kept off Koa's per-request machinery (at 64 KiB hits that machinery cost a third of the
 * CPU). Requires a valid blob grant for exactly that repository and digest (hit or miss alike,
 * before anything else is looked at), then serves the blob from the caching store. One log line
 * per request says hit, miss, coalesced or denied.
 *
 * `headers` (a flat name/value list) are set on every answer: `http.headers`, the API version; the
 * blob's own headers only on a blob answer. Throws (rejects) for anything that is not a blob
 * answer — a refused grant, an unknown blob, an unsatisfiable range — before any header is sent:
 * the caller has it rendered as an error. Once the body has started, a failure aborts the
 * response instead.
 */
export async function serveBlob(
  request: IncomingMessage,
  response: ServerResponse,
  services: CacheServices,
  headers: readonly string[],
  { repository, digest, query }: BlobRequest,
): Promise<void> {
  const started = performance.now();
  const method = request.method as 'GET' | 'HEAD';
  let result = 'error';
  let bytes = 0;
  response.once('close', () => {
    const seconds = (performance.now() - started) / 1000;
    services.metrics.requests.inc({ method, result });
    services.metrics.bytesServed.inc({ result }, bytes);
    services.metrics.duration.observe({ result }, seconds);
    if (services.accessLog) {
      services.logger.info('blob request', {
        method,
        repo: repository,
        digest: digest.toString(),
        cache: result,
        status: response.statusCode,
        bytes,
        complete: response.writableFinished,
        durationMs: Math.round(seconds * 1000),
      });
    }
  });

  const grant = grantFromQuery(query);
  try {
    await services.keys.verify(grant, { repository, digest });
  } catch (error) {
    if (error instanceof BlobGrantError) result = 'denied';
    throw error;
  }
  const blobs = services.cache.view({ repository, grant: grant as string });
  if (method === 'HEAD') {
    const info = await blobs.stat(digest);
    if (!info)
      throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });
    result = 'head';
    response.writeHead(200, blobHeaders(headers, digest, info.size)).end();
    return;
  }
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch === etagOf(digest)) {
    result = 'not-modified';
    response.writeHead(304, blobHeaders(headers, digest)).end();
    return;
  }
  let blob = await blobs.open(digest);
  const range = parseRangeHeader(request.headers.range, blob.size);
  if (range.kind === 'unsatisfiable') {
    blob.stream.destroy();
    throw rangeNotSatisfiable(blob.size);
  }
  let answer: string[];
  if (range.kind === 'partial') {
    blob.stream.destroy();
    blob = await blobs.open(digest, range.range);
    answer = blobHeaders(headers, digest, rangeLength(range.range));
    answer.push(Headers.contentRange, formatContentRange(range.range, blob.size));
  } else {
    answer = blobHeaders(headers, digest, blob.size);
  }
  result = blob.source ?? 'hit';
  response.writeHead(range.kind === 'partial' ? 206 : 200, answer);
  sendBody(response, blob, (count) => (bytes += count));
}

/**
 * The headers of a blob answer, as the flat name/value list `writeHead` takes: `headers`, then the
 * blob's own ({@link blobAnswerHeaders}) and its length. A list, not an object: building an object
 * of these names per request cost 5% of the CPU of 64 KiB hits.
 */
function blobHeaders(headers: readonly string[], digest: Digest, length?: number): string[] {
  const answer = [...headers, ...blobAnswerHeaders(digest)];
  if (length !== undefined) answer.push(Headers.contentLength, String(length));
  return answer;
}

/** Bytes a response may have waiting for its socket before its body is paused. */
const SEND_BUFFER = 256 * 1024;

/**
 * Sends the blob as the body of a response whose head is written, counting the bytes. Bytes
 * already in memory go out in one write. A streamed chunk is handed back to the store (`recycle`)
 * once its write completed, so the next read reuses its memory. A failing body (upstream died,
 * bytes did not verify) aborts the response rather than ending it; a client that goes away stops
 * the body. (Not `stream.pipeline`: it costs an AbortController per response, and gives no word
 * of a chunk's write completing.)
 */
function sendBody(
  response: ServerResponse,
  blob: OpenBlob,
  onBytes: (count: number) => void,
): void {
  if (blob.bytes) {
    const bytes = blob.bytes;
    onBytes(bytes.length);
    // Written once this turn of the event loop has read its other requests (setImmediate), so
    // the responses of a turn go out together: a write that wakes a waiting client costs an
    // inter-processor interrupt, and together they wake fewer (64 KiB from memory at 64
    // connections: 15,000 requests/s instead of 12,000 on the 2-core benchmark machine).
    setImmediate(() => {
      if (!response.destroyed) response.end(bytes);
    });
    return;
  }
  const body = blob.stream;
  response.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  const recycle = blob.recycle;
  // Chunks that arrive together (a fill's 64 KiB upstream chunks, read ahead) go out together:
  // corked until the next tick, and not paused for until SEND_BUFFER bytes wait for the socket.
  let corked = false;
  const uncork = () => {
    corked = false;
    response.uncork();
  };
  body.on('data', (chunk: Buffer) => {
    onBytes(chunk.length);
    if (!corked) {
      corked = true;
      response.cork();
      process.nextTick(uncork);
    }
    // A write that failed may still be referenced by the socket: only a completed one is reused.
    const written = recycle
      ? (error?: Error | null) => {
          if (!error) recycle(chunk);
        }
      : undefined;
    if (!response.write(chunk, written) && response.writableLength >= SEND_BUFFER) body.pause();
  });
  response.on('drain', () => body.resume());
  body.once('end', () => response.end());
  body.once('error', () => response.destroy());
}
