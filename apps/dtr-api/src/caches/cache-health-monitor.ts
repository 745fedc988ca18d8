import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { got } from 'got';
import { registryPaths, resolveRegistryUrl } from '@dtr-cache/registry-protocol';
import type { Logger } from '@dtr-cache/logging';
import type { ContentCache, ContentCacheStore } from '../store/content-cache-store';
import type { CacheAddressPolicy } from './cache-address-policy';

/**
 * The last health check of a cache; `healthy` is undefined until the first check ends. `error` is
 * a coarse reason (`unreachable`, `timeout`, `TLS error`, `refused address`, `HTTP 503`): the API
 * and the UI show it; the full error goes to DTR's log only (it would tell anyone who may see the
 * caches which ports answer where DTR runs).
 */
export interface CacheHealth {
  readonly healthy: boolean | undefined;
  readonly checkedAt: Date | undefined;
  readonly error: string | undefined;
}

const TLS_ERROR =
  /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$|HOSTNAME_MISMATCH)/;

/** The coarse reason of a failed check. */
function coarseReason(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (code === 'EREFUSEDADDRESS') return 'refused address';
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return 'timeout';
  if (typeof code === 'string' && TLS_ERROR.test(code)) return 'TLS error';
  return 'unreachable';
}

const UNKNOWN: CacheHealth = { healthy: undefined, checkedAt: undefined, error: undefined };

/**
 * Checks every registered cache periodically with `GET <host>/v2/`: any answer below 500 within
 * the timeout is healthy (a cache answers 401 there). DTR redirects only to healthy caches.
 * Connections trust the system CAs plus the configured ones.
 */
export class CacheHealthMonitor {
  private readonly results = new Map<number, CacheHealth>();
  private timer: NodeJS.Timeout | undefined;
  private readonly certificateAuthority: string[];
  private readonly inFlight = new Set<Promise<CacheHealth>>();
  private readonly httpAgent = new HttpAgent({ keepAlive: false });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: false });
  private stopped = false;

  constructor(
    private readonly caches: ContentCacheStore,
    private readonly options: {
      intervalMs: number;
      timeoutMs: number;
      cas: readonly string[];
      addresses: CacheAddressPolicy;
    },
    private readonly logger: Logger,
  ) {
    this.certificateAuthority = [...rootCertificates, ...options.cas];
  }

  /** Checks all caches now, then every interval. */
  start(): void {
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops checking and waits for checks in flight (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  status(cache: Pick<ContentCache, 'id'>): CacheHealth {
    return this.results.get(cache.id) ?? UNKNOWN;
  }

  forget(cache: Pick<ContentCache, 'id'>): void {
    this.results.delete(cache.id);
  }

  /** Checks every registered cache; never rejects. */
  async checkAll(): Promise<void> {
    if (this.stopped) return;
    let caches: ContentCache[];
    try {
      caches = await this.caches.list();
    } catch (error) {
      this.logger.warn('content caches could not be listed for health checks', { error });
      return;
    }
    await Promise.all(caches.map((cache) => this.check(cache)));
  }

  /** Checks one cache now; never rejects. */
  check(cache: ContentCache): Promise<CacheHealth> {
    const running = this.runCheck(cache);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  private async runCheck(cache: ContentCache): Promise<CacheHealth> {
    const checkedAt = new Date();
    let result: CacheHealth;
    let detail: string | undefined;
    try {
      const url = resolveRegistryUrl(cache.host, registryPaths.base());
      this.options.addresses.checkHost(url);
      const response = await got(url, {
        timeout: { request: this.options.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        // Names resolve to allowed addresses only, and the address checked is the one used: a
        // new connection, and so a new lookup, for every check.
        dnsLookup: this.options.addresses.lookup,
        agent: { http: this.httpAgent, https: this.httpsAgent },
        https: { certificateAuthority: this.certificateAuthority },
      });
      result =
        response.statusCode < 500
          ? { healthy: true, checkedAt, error: undefined }
          : { healthy: false, checkedAt, error: `HTTP ${response.statusCode}` };
    } catch (error) {
      detail = (error as Error).message;
      result = { healthy: false, checkedAt, error: coarseReason(error) };
    }
    if (this.stopped) return result;
    const previous = this.results.get(cache.id);
    if (previous?.healthy !== result.healthy) {
      this.logger[result.healthy ? 'info' : 'warn']('content cache health changed', {
        cache: cache.name,
        healthy: result.healthy,
        reason: result.error,
        error: detail,
      });
    }
    try {
      if (await this.caches.find(cache.id)) this.results.set(cache.id, result);
    } catch (error) {
      this.logger.warn('content cache health not recorded', { cache: cache.name, error });
    }
    return result;
  }
}
