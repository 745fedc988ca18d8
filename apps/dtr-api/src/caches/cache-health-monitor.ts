import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { got } from 'got';
import { registryPaths, resolveRegistryUrl } from '@dtr-cache/registry-protocol';
import type { Logger } from '@dtr-cache/logging';
import { type CacheHealthStore, memberKey, type RecordedHealth } from '../store/cache-health-store';
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

/** The coarse reason of a failed check (or stats reading). */
export function coarseReason(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (code === 'EREFUSEDADDRESS') return 'refused address';
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return 'timeout';
  if (typeof code === 'string' && TLS_ERROR.test(code)) return 'TLS error';
  return 'unreachable';
}

const UNKNOWN: CacheHealth = { healthy: undefined, checkedAt: undefined, error: undefined };

/**
 * A group's health from its members': healthy while any member is (the others' shares move to
 * it), else the first member's result; unknown without members' results.
 */
function groupHealth(members: readonly CacheHealth[]): CacheHealth {
  return members.find((member) => member.healthy === true) ?? members[0] ?? UNKNOWN;
}

/**
 * Checks every member of every registered cache (group) periodically with `GET <host>/v2/`: any
 * answer below 500 within the timeout is healthy (a cache answers 401 there). DTR redirects only
 * to healthy members. Connections trust the system CAs plus the configured ones. Results are
 * shared by the replicas through the database: each interval a replica takes every member's latest
 * recorded check and checks only those nobody checked in the last half interval, so all replicas
 * judge a member the same within one interval (and a member is checked about once per interval,
 * not once per replica).
 */
export class CacheHealthMonitor {
  private readonly results = new Map<string, CacheHealth>();
  private timer: NodeJS.Timeout | undefined;
  private readonly certificateAuthority: string[];
  private readonly inFlight = new Set<Promise<CacheHealth>>();
  private readonly httpAgent = new HttpAgent({ keepAlive: false });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: false });
  private stopped = false;

  constructor(
    private readonly caches: ContentCacheStore,
    private readonly shared: CacheHealthStore,
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

  /** The last check of one member of a cache. */
  memberStatus(cache: Pick<ContentCache, 'id'>, host: string): CacheHealth {
    return this.results.get(memberKey(cache.id, host)) ?? UNKNOWN;
  }

  /** The members of `cache` whose last check was healthy, in the cache's order. */
  healthyMembers(cache: Pick<ContentCache, 'id' | 'hosts'>): string[] {
    return cache.hosts.filter((host) => this.memberStatus(cache, host).healthy === true);
  }

  /** A cache's health as a whole (see {@link groupHealth}), from its members' last checks. */
  status(cache: Pick<ContentCache, 'id' | 'hosts'>): CacheHealth {
    return groupHealth(cache.hosts.map((host) => this.memberStatus(cache, host)));
  }

  forget(cache: Pick<ContentCache, 'id' | 'hosts'>): void {
    for (const host of cache.hosts) this.results.delete(memberKey(cache.id, host));
  }

  /** Checks every member of every registered cache that is due; never rejects. */
  async checkAll(): Promise<void> {
    if (this.stopped) return;
    let caches: ContentCache[];
    let recorded: Map<string, RecordedHealth>;
    try {
      caches = await this.caches.list();
      recorded = await this.shared.latest();
    } catch (error) {
      this.logger.warn('content caches could not be listed for health checks', { error });
      return;
    }
    const fresh = Date.now() - this.options.intervalMs / 2;
    const due: Array<Promise<CacheHealth>> = [];
    for (const cache of caches) {
      for (const host of cache.hosts) {
        const latest = recorded.get(memberKey(cache.id, host));
        // Another replica (or this one) checked it lately: judge by that check.
        if (latest && latest.checkedAt.getTime() > fresh)
          this.judge(cache, host, { ...latest }, undefined);
        else due.push(this.checkMember(cache, host));
      }
    }
    await Promise.all(due);
  }

  /** Checks every member of one cache now; never rejects. Answers the cache's health. */
  async check(cache: ContentCache): Promise<CacheHealth> {
    return groupHealth(await Promise.all(cache.hosts.map((host) => this.checkMember(cache, host))));
  }

  /** Checks one member now; never rejects. */
  checkMember(cache: ContentCache, host: string): Promise<CacheHealth> {
    const running = this.runCheck(cache, host);
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  private async runCheck(cache: ContentCache, host: string): Promise<CacheHealth> {
    const checkedAt = new Date();
    let result: CacheHealth;
    let detail: string | undefined;
    try {
      const url = resolveRegistryUrl(host, registryPaths.base());
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
    try {
      // Recorded only while the member is still in the cache (the store checks).
      await this.shared.record(cache.id, host, {
        healthy: result.healthy === true,
        checkedAt,
        error: result.error,
      });
    } catch (error) {
      this.logger.warn('content cache health not recorded', { cache: cache.name, host, error });
    }
    this.judge(cache, host, result, detail);
    return result;
  }

  /** Takes `result` as the member's health now, logging a change. */
  private judge(
    cache: ContentCache,
    host: string,
    result: CacheHealth,
    detail: string | undefined,
  ): void {
    if (this.stopped) return;
    const key = memberKey(cache.id, host);
    const previous = this.results.get(key);
    if (previous?.healthy !== result.healthy) {
      this.logger[result.healthy ? 'info' : 'warn']('content cache health changed', {
        cache: cache.name,
        host,
        healthy: result.healthy,
        reason: result.error,
        error: detail,
      });
    }
    this.results.set(key, result);
  }
}
