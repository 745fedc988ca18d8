import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  BLOB_GRANT_KEYS_PATH,
  type Digest,
  GRANT_QUERY_PARAMETER,
  type GrantKeySet,
  parseErrorEnvelope,
  RegistryError,
  registryPaths,
  rendezvousRank,
  resolveRegistryUrl,
} from '@dtr-cache/registry-protocol';
import type { UpstreamPolicy } from '@dtr-cache/config';

/** Options of an {@link UpstreamClient}. */
export interface UpstreamClientOptions {
  /** The hosts: `upstreamhosts`, or `[originhost]`. */
  hosts: readonly URL[];
  /**
   * How a blob's host is picked (`upstreampolicy`): in turn (`roundrobin`, the default), or
   * ranked by rendezvous hashing of its digest (`digest`: one upstream group member per blob).
   */
  policy?: UpstreamPolicy;
  /** PEM CAs trusted besides the system store (`cas`). */
  cas: readonly string[];
  /** How long a connection attempt may take. */
  connectTimeoutMs: number;
  /** How long the upstream may stay silent (before headers, or between body bytes). */
  stallTimeoutMs: number;
  /** Consecutive failures after which a host is skipped… */
  failureThreshold: number;
  /** …for this long. */
  cooldownMs: number;
}

/** How many times a request is sent again after its kept-alive connection turned out closed. */
const STALE_RETRIES = 2;

/** How a request fails on a kept-alive connection its server closed as it was sent. */
const STALE_CONNECTION_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

/** An upstream blob response: its size and the body stream. */
export interface UpstreamBlob {
  readonly size: number;
  readonly stream: IncomingMessage;
  readonly host: URL;
}

interface HostState {
  readonly url: URL;
  failures: number;
  skipUntil: number;
}

/** A transient failure of one host: try the next. */
class HostFailure extends Error {}

/**
 * Talks to the next hop (DTR or an upstream cache). Requests go round-robin across the hosts (blob
 * requests, with the `digest` policy, down the digest's rendezvous ranking instead); connection errors, timeouts and 5xx answers fail over to the next host, and a host that keeps
 * failing is skipped for a while. Answers that are not transient (401, 404) are final.
 */
export class UpstreamClient {
  private readonly hosts: HostState[];
  private next = 0;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly options: UpstreamClientOptions) {
    if (options.hosts.length === 0) throw new Error('an upstream needs at least one host');
    this.hosts = options.hosts.map((url) => ({ url, failures: 0, skipUntil: 0 }));
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 64,
      ca: [...rootCertificates, ...options.cas],
    });
  }

  /**
   * Hosts in the order to try now: ranked for `digest` under the `digest` policy, else round-robin;
   * those cooling down left out (unless all are).
   */
  private order(digest?: Digest): HostState[] {
    const now = Date.now();
    let ordered: HostState[];
    if (digest !== undefined && this.options.policy === 'digest') {
      ordered = rendezvousRank(digest.toString(), this.hosts, (host) => host.url.href);
    } else {
      const start = this.next;
      this.next = (this.next + 1) % this.hosts.length;
      ordered = [...this.hosts.slice(start), ...this.hosts.slice(0, start)];
    }
    const available = ordered.filter((host) => host.skipUntil <= now);
    return available.length > 0 ? available : ordered;
  }

  private record(host: HostState, ok: boolean): void {
    if (ok) {
      host.failures = 0;
      host.skipUntil = 0;
      return;
    }
    host.failures += 1;
    if (host.failures >= this.options.failureThreshold)
      host.skipUntil = Date.now() + this.options.cooldownMs;
  }

  /**
   * One request to `url`. A request sent on a kept-alive connection that the upstream closed at
   * that moment (it fails before any answer: the upstream's idle timeout raced the reuse) is sent
   * again, on another connection: the upstream never saw it. Up to {@link STALE_RETRIES} times.
   */
  private send(
    url: URL,
    method: 'GET' | 'HEAD',
    retries = STALE_RETRIES,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const request = (secure ? httpsRequest : httpRequest)(url, {
        method,
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { Accept: '*/*' },
        timeout: this.options.stallTimeoutMs,
      });
      const connectTimer = setTimeout(
        () => request.destroy(new HostFailure(`connect timeout to ${url.host}`)),
        this.options.connectTimeoutMs,
      );
      request.once('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.once('timeout', () =>
        request.destroy(new HostFailure(`upstream ${url.host} stalled`)),
      );
      request.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        if (retries > 0 && request.reusedSocket && STALE_CONNECTION_ERRORS.has(error.code ?? '')) {
          resolve(this.send(url, method, retries - 1));
          return;
        }
        reject(
          error instanceof HostFailure ? error : new HostFailure(`${url.host}: ${error.message}`),
        );
      });
      request.once('response', (response) => {
        clearTimeout(connectTimer);
        response.setTimeout(this.options.stallTimeoutMs, () =>
          response.destroy(new Error(`upstream ${url.host} stalled mid-body`)),
        );
        resolve(response);
      });
      request.end();
    });
  }

  /** Sends to each host in turn until one answers without a transient failure. */
  private async withFailover(
    path: string,
    method: 'GET' | 'HEAD',
    digest?: Digest,
  ): Promise<{ response: IncomingMessage; host: URL }> {
    let lastError: Error | undefined;
    for (const host of this.order(digest)) {
      try {
        const response = await this.send(resolveRegistryUrl(host.url, path), method);
        if ((response.statusCode ?? 500) >= 500) {
          response.resume();
          throw new HostFailure(`${host.url.host} answered ${response.statusCode}`);
        }
        this.record(host, true);
        return { response, host: host.url };
      } catch (error) {
        if (!(error instanceof HostFailure)) throw error;
        this.record(host, false);
        lastError = error;
      }
    }
    throw new RegistryError('UNAVAILABLE', 'no upstream could be reached', {
      cause: lastError,
      detail: { reason: lastError?.message },
    });
  }

  private blobPath(repository: string, digest: Digest, grant: string): string {
    return registryPaths.blob(repository, digest, { [GRANT_QUERY_PARAMETER]: grant });
  }

  /**
   * Fetches a whole blob, forwarding the grant (each hop checks it).
   * @throws RegistryError from the upstream's envelope (`UNAUTHORIZED`, `BLOB_UNKNOWN`, …),
   *   or `UNAVAILABLE` when no host answers.
   */
  async getBlob(repository: string, digest: Digest, grant: string): Promise<UpstreamBlob> {
    const { response, host } = await this.withFailover(
      this.blobPath(repository, digest, grant),
      'GET',
      digest,
    );
    if (response.statusCode !== 200) throw await this.errorOf(response);
    const size = Number(response.headers['content-length']);
    if (!Number.isSafeInteger(size) || size < 0) {
      response.destroy();
      throw new RegistryError('UNAVAILABLE', 'the upstream sent no Content-Length for the blob');
    }
    return { size, stream: response, host };
  }

  /** The size of a blob upstream (HEAD), forwarding the grant. */
  async headBlob(repository: string, digest: Digest, grant: string): Promise<number> {
    const { response } = await this.withFailover(
      this.blobPath(repository, digest, grant),
      'HEAD',
      digest,
    );
    response.resume();
    if (response.statusCode !== 200) {
      throw response.statusCode === 404
        ? new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } })
        : new RegistryError('UNAUTHORIZED', 'the upstream refused the blob grant');
    }
    return Number(response.headers['content-length']);
  }

  /** The upstream's blob grant keys (JWKS). */
  async fetchKeys(): Promise<GrantKeySet> {
    const { response } = await this.withFailover(BLOB_GRANT_KEYS_PATH, 'GET');
    const body = await readAll(response, 256 * 1024);
    if (response.statusCode !== 200)
      throw new Error(`the upstream answered ${response.statusCode} for its grant keys`);
    return JSON.parse(body.toString('utf8')) as GrantKeySet;
  }

  private async errorOf(response: IncomingMessage): Promise<RegistryError> {
    const body = await readAll(response, 64 * 1024).catch(() => Buffer.alloc(0));
    let parsed: RegistryError | undefined;
    try {
      parsed = parseErrorEnvelope(JSON.parse(body.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (parsed) return parsed;
    return response.statusCode === 404
      ? new RegistryError('BLOB_UNKNOWN')
      : new RegistryError('UNAVAILABLE', `the upstream answered ${response.statusCode}`);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

async function readAll(stream: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new Error('upstream answer too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
