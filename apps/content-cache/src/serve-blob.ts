import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type OpenBlob, readSizerOf } from '@dtr-cache/blob-store';
import {
  BlobGrantError,
  blobAnswerHeaders,
  type CacheResult,
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
import { canSendFileBody, sendFileBody } from './send-file-body';
import { SendTimeout } from './send-timeout';

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
 * blob's own headers only on a blob answer (a 200, 206, 304 or HEAD), with `X-Content-Cache`: what
 * the cache did (`hit`, `miss`, `coalesced`, `pass-through`; a HEAD or a 304 says `hit` when the
 * blob is on disk, else `miss`, having asked upstream whether it exists). Throws (rejects) for
 * anything that is not a blob answer — a refused grant, an unknown blob (a 304's included), an
 * unsatisfiable range — before any header is sent: the caller has it rendered as an error. Once
 * the body has started, a failure aborts the response instead.
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
  const timeout = new SendTimeout(response, services.sendTimeoutMs);
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
        ...(timeout.expired ? { sendTimeout: true } : {}),
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
  const ifNoneMatch = request.headers['if-none-match'];
  const notModified = method === 'GET' && ifNoneMatch === etagOf(digest);
  if (method === 'HEAD' || notModified) {
    const info = await blobs.stat(digest);
    if (!info)
      throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });
    result = notModified ? 'not-modified' : 'head';
    const length = notModified ? undefined : info.size;
    response.writeHead(notModified ? 304 : 200, blobHeaders(headers, digest, info.source, length));
    response.end();
    return;
  }
  let blob = await blobs.open(digest);
  // What this request did: a range opens the blob again, joining the fill its first open started.
  const source = blob.source;
  const range = parseRangeHeader(request.headers.range, blob.size);
  if (range.kind === 'unsatisfiable') {
    blob.stream.destroy();
    throw rangeNotSatisfiable(blob.size);
  }
  let answer: string[];
  if (range.kind === 'partial') {
    blob.stream.destroy();
    blob = await blobs.open(digest, range.range);
    answer = blobHeaders(headers, digest, source, rangeLength(range.range));
    answer.push(Headers.contentRange, formatContentRange(range.range, blob.size));
  } else {
    answer = blobHeaders(headers, digest, source, blob.size);
  }
  result = source;
  response.writeHead(range.kind === 'partial' ? 206 : 200, answer);
  sendBody(response, blob, timeout, services.sendFile, (count) => (bytes += count));
}

/**
 * The headers of a blob answer, as the flat name/value list `writeHead` takes: `headers`, then the
 * blob's own ({@link blobAnswerHeaders}), what the cache did (`X-Content-Cache`) and its length. A
 * list, not an object: building an object of these names per request cost 5% of the CPU of 64 KiB
 * hits.
 */
function blobHeaders(
  headers: readonly string[],
  digest: Digest,
  cacheResult: CacheResult,
  length?: number,
): string[] {
  const answer = [...headers, ...blobAnswerHeaders(digest), Headers.contentCache, cacheResult];
  if (length !== undefined) answer.push(Headers.contentLength, String(length));
  return answer;
}

/**
 * A response's body is read in chunks of this size until its client has taken
 * {@link PROVEN_BYTES} of it (their writes completed): the most a client that stops reading (or
 * never starts) leaves the cache holding. The kernel's socket buffers take up to about 4 MiB of
 * a client that reads nothing (Linux, default \`tcp_wmem\`), so that alone proves nothing.
 */
const FIRST_CHUNK = 64 * 1024;
/**
 * {@link FIRST_CHUNK} over TLS: one TLS record. A TLS socket keeps the encrypted copy of a chunk
 * being written besides the chunk: 1000 stalled clients held 240 KB each with 64 KiB chunks, 100
 * KB with 16 KiB ones.
 */
const FIRST_CHUNK_TLS = 16 * 1024;
/** Taken bytes after which a response is read in chunks of {@link LARGE_CHUNK}. */
const PROVEN_BYTES = 8 * 1024 * 1024;
/** The chunks of a client that keeps up: one write, without a copy, per read buffer (1 MiB). */
const LARGE_CHUNK = 1024 * 1024;
/**
 * Bytes of chunks arriving together (a fill's upstream chunks) written in one go: beyond them the
 * body is paused until they went out.
 */
const BATCH = 256 * 1024;

/**
 * Sends the blob as the body of a response whose head is written, counting the bytes. Bytes
 * already in memory go out in one write; a large blob on local disk, over plain HTTP, with
 * sendfile ({@link sendFileBody}). A streamed chunk is handed back to the store (`recycle`)
 * once its write completed, so the next read reuses its memory. A failing body (upstream died,
 * bytes did not verify) aborts the response rather than ending it; a client that goes away stops
 * the body; one that takes none of the bytes waiting for it for `timeout`'s time has its
 * response closed. (Not `stream.pipeline`: it costs an AbortController per response, and gives
 * no word of a chunk's write completing.)
 *
 * What a response holds for its client: the chunks written that its socket has not taken yet
 * (a chunk is written only once the socket took the ones before), and what its body read ahead.
 * From the disk: one chunk of {@link FIRST_CHUNK} ({@link FIRST_CHUNK_TLS}) bytes until the client
 * has taken {@link PROVEN_BYTES} (the disk's stream reads ahead up to 256 KiB for a client that
 * keeps up, and gives it back 100 ms after it stops), then a {@link LARGE_CHUNK} being written and
 * one read ahead. From a fill: up to {@link BATCH} bytes of chunks and the one that crossed it.
 */
function sendBody(
  response: ServerResponse,
  blob: OpenBlob,
  timeout: SendTimeout,
  sendFile: boolean,
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
      if (response.destroyed) return;
      response.end(bytes, () => timeout.progressed());
      timeout.waiting();
    });
    return;
  }
  if (sendFile && canSendFileBody(response, blob)) {
    const fallback = () => streamBody(response, blob, timeout, onBytes);
    sendFileBody(response, blob, timeout, onBytes, fallback);
    return;
  }
  streamBody(response, blob, timeout, onBytes);
}

/** Sends the body of `blob` from its stream (see {@link sendBody}). */
function streamBody(
  response: ServerResponse,
  blob: OpenBlob,
  timeout: SendTimeout,
  onBytes: (count: number) => void,
): void {
  const body = blob.stream;
  response.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  const recycle = blob.recycle;
  const setReadSize = readSizerOf(body);
  const firstChunk = (response.socket as TLSSocket | null)?.encrypted
    ? FIRST_CHUNK_TLS
    : FIRST_CHUNK;
  setReadSize?.(firstChunk);
  // Small chunks go out one at a time: a client that stops reading holds one of them.
  let pauseAt = setReadSize ? firstChunk : BATCH;
  let taken = 0;
  const written = (chunk: Buffer) => (error?: Error | null) => {
    // A write that failed may still be referenced by the socket: only a completed one is reused.
    if (error) return;
    recycle?.(chunk);
    if (taken < PROVEN_BYTES && (taken += chunk.length) >= PROVEN_BYTES) {
      setReadSize?.(LARGE_CHUNK);
      pauseAt = BATCH;
    }
    timeout.progressed();
  };
  // Chunks that arrive together (a fill's upstream chunks, read ahead) go out together: corked
  // until the next tick, and not paused for until BATCH bytes wait for the socket.
  let corked = false;
  const uncork = () => {
    corked = false;
    response.uncork();
    // Bytes left waiting: the client is slower than its socket's buffer. Nothing more is read
    // until they went out ('drain'); if they all did, the body goes on at once.
    if (response.writableLength === 0) body.resume();
    else if (response.writableNeedDrain) body.pause();
  };
  body.on('data', (chunk: Buffer) => {
    onBytes(chunk.length);
    if (pauseAt < BATCH) {
      // A small chunk goes out alone, at once: the body reads on only if the socket took it all.
      response.write(chunk, written(chunk));
      if (response.writableLength === 0) return;
      timeout.waiting();
      if (response.writableNeedDrain) body.pause();
      return;
    }
    if (!corked) {
      corked = true;
      response.cork();
      process.nextTick(uncork);
    }
    response.write(chunk, written(chunk));
    timeout.waiting();
    if (response.writableLength >= pauseAt) body.pause();
  });
  response.on('drain', () => {
    timeout.progressed();
    body.resume();
  });
  body.once('end', () => response.end());
  body.once('error', () => response.destroy());
}
