import { Digest, Headers } from '@dtr-cache/registry-protocol';
import type { Answer } from '@dtr-cache/test-support';
import { headerOf, type HttpClient, type OpenRequest, sleep } from './http-client';

/** Who pushes where: the client, its `Authorization` and the repository. */
export interface Pusher {
  readonly client: HttpClient;
  readonly auth: string;
  readonly repository: string;
}

/** An answer of a status the step did not expect. */
export class UnexpectedAnswer extends Error {
  constructor(
    what: string,
    readonly answer: Answer,
  ) {
    super(`${what}: ${answer.status} ${answer.body.toString().slice(0, 300)}`);
  }
}

function expectStatus(what: string, answer: Answer, status: number): Answer {
  if (answer.status !== status) throw new UnexpectedAnswer(what, answer);
  return answer;
}

const withQuery = (location: string, query: string) =>
  `${location}${location.includes('?') ? '&' : '?'}${query}`;

/**
 * `POST /v2/<repository>/blobs/uploads/` at `base` (a replica or the load balancer).
 * @returns the new session's Location (a path).
 * @throws UnexpectedAnswer unless 202; Error on a connection error.
 */
export async function startSession(pusher: Pusher, base: string): Promise<string> {
  const answer = await pusher.client.send(`${base}/v2/${pusher.repository}/blobs/uploads/`, {
    method: 'POST',
    headers: { Authorization: pusher.auth },
  });
  return headerOf(expectStatus('POST upload', answer, 202), Headers.location);
}

/**
 * Opens the PATCH of `chunk` at `offset` of the session at `location`, its body not sent yet; it
 * fails once its connection stayed silent for `timeoutMs` (default 30 s).
 */
export function openChunk(
  pusher: Pusher,
  base: string,
  location: string,
  chunk: Buffer,
  offset: number,
  timeoutMs?: number,
): OpenRequest {
  return pusher.client.open(`${base}${location}`, {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    method: 'PATCH',
    headers: {
      Authorization: pusher.auth,
      [Headers.contentType]: 'application/octet-stream',
      [Headers.contentLength]: String(chunk.length),
      [Headers.contentRange]: `${offset}-${offset + chunk.length - 1}`,
    },
  });
}

/**
 * PATCHes `chunk` at `offset` of the session at `location`.
 * @returns the session's next Location.
 * @throws UnexpectedAnswer unless 202; Error on a connection error.
 */
export async function sendChunk(
  pusher: Pusher,
  base: string,
  location: string,
  chunk: Buffer,
  offset: number,
): Promise<string> {
  const answer = await openChunk(pusher, base, location, chunk, offset).end(chunk);
  return headerOf(expectStatus(`PATCH at ${offset}`, answer, 202), Headers.location);
}

/**
 * `GET` of the session at `location`: how many bytes it holds (its `Range` end + 1).
 * @throws UnexpectedAnswer unless 204.
 */
export async function sessionSize(pusher: Pusher, base: string, location: string) {
  const answer = await pusher.client.send(`${base}${location}`, {
    headers: { Authorization: pusher.auth },
  });
  expectStatus('GET upload', answer, 204);
  const range = /^0-(\d+)$/.exec(headerOf(answer, Headers.range));
  const end = Number(range?.[1] ?? -1);
  // DTR says `0-0` for an empty session too.
  return { size: end === 0 ? 0 : end + 1, location: headerOf(answer, Headers.location) };
}

/** `PUT …?digest=` of the session at `location`. @throws UnexpectedAnswer unless 201. */
export async function commitSession(
  pusher: Pusher,
  base: string,
  location: string,
  digest: string,
): Promise<void> {
  const answer = await pusher.client.send(`${base}${withQuery(location, `digest=${digest}`)}`, {
    method: 'PUT',
    headers: { Authorization: pusher.auth },
  });
  expectStatus('PUT upload', answer, 201);
}

/**
 * PATCHes the bytes of `content` from `start` to `end` (exclusive) to the session at `location`,
 * `chunkSize` at a time.
 * @returns the session's next Location.
 * @throws what {@link sendChunk} throws.
 */
export async function sendRange(
  pusher: Pusher,
  base: string,
  location: string,
  content: Buffer,
  range: { start: number; end: number; chunkSize: number },
): Promise<string> {
  let next = location;
  for (let at = range.start; at < range.end; at += range.chunkSize) {
    const chunk = content.subarray(at, Math.min(at + range.chunkSize, range.end));
    next = await sendChunk(pusher, base, next, chunk, at);
  }
  return next;
}

/**
 * Uploads `content` in PATCHes of `chunkSize` as docker and skopeo do: when a request fails (a
 * connection error, an unexpected answer) the blob starts over in a new session, up to `attempts`.
 * @returns the failures it started over after (empty when the first attempt went through).
 * @throws the last failure when no attempt went through.
 */
export async function uploadBlob(
  pusher: Pusher,
  base: string,
  content: Buffer,
  chunkSize: number,
  attempts = 5,
): Promise<string[]> {
  const failures: string[] = [];
  for (;;) {
    try {
      const location = await sendRange(pusher, base, await startSession(pusher, base), content, {
        start: 0,
        end: content.length,
        chunkSize,
      });
      await commitSession(pusher, base, location, Digest.of(content).toString());
      return failures;
    } catch (error) {
      failures.push(String(error));
      if (failures.length >= attempts) throw error;
      await sleep(1000);
    }
  }
}

/**
 * Continues the session at `location` (holding the first bytes of `content`) chunk by chunk and
 * commits it. A request that fails is followed, as OCI's resumable upload has it, by asking for
 * the session's status and going on from the size it holds, up to `attempts` times.
 * @returns the failures it resumed after.
 * @throws the last failure when the attempts ran out.
 */
export async function finishResumable(
  pusher: Pusher,
  base: string,
  location: string,
  content: Buffer,
  chunkSize: number,
  attempts = 5,
): Promise<string[]> {
  const failures: string[] = [];
  let next = location;
  for (;;) {
    try {
      const status = await sessionSize(pusher, base, next);
      next = await sendRange(pusher, base, status.location, content, {
        start: status.size,
        end: content.length,
        chunkSize,
      });
      await commitSession(pusher, base, next, Digest.of(content).toString());
      return failures;
    } catch (error) {
      failures.push(String(error));
      if (failures.length >= attempts) throw error;
      await sleep(1000);
    }
  }
}

/**
 * `PUT /v2/<repository>/manifests/<tag>`, sent again on a failure as a client does (it is
 * idempotent), up to `attempts` times.
 * @returns the failures it sent it again after.
 * @throws the last failure when no attempt went through.
 */
export async function putManifest(
  pusher: Pusher,
  base: string,
  tag: string,
  manifest: Buffer,
  mediaType: string,
  attempts = 5,
): Promise<string[]> {
  const failures: string[] = [];
  for (;;) {
    try {
      const answer = await pusher.client.send(`${base}/v2/${pusher.repository}/manifests/${tag}`, {
        method: 'PUT',
        headers: { Authorization: pusher.auth, [Headers.contentType]: mediaType },
        body: manifest,
      });
      expectStatus('PUT manifest', answer, 201);
      return failures;
    } catch (error) {
      failures.push(String(error));
      if (failures.length >= attempts) throw error;
      await sleep(1000);
    }
  }
}
