import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got } from 'got';
import {
  CACHE_STATS_PATH,
  type CacheStats,
  parseCacheStats,
  resolveRegistryUrl,
} from '@dtr-cache/registry-protocol';
import type { CacheAddressPolicy } from './cache-address-policy';
import { coarseReason } from './cache-health-monitor';

/** The largest stats answer read (a cache's answer is well under 2 KiB). */
export const MAX_STATS_BODY_BYTES = 64 * 1024;

/** A member's stats, or the coarse reason they could not be read. */
export type StatsReading =
  | { readonly stats: CacheStats; readonly error?: undefined }
  | { readonly stats?: undefined; readonly error: string };

/** How stats are read: the same connection rules as health checks. */
export interface CacheStatsClientOptions {
  readonly timeoutMs: number;
  /** The system CAs plus `contentcaches.cas`. */
  readonly certificateAuthority: readonly string[];
  readonly addresses: CacheAddressPolicy;
}

/**
 * Reads a cache member's stats at {@link CACHE_STATS_PATH} with DTR's signed `credential`, within
 * the timeout, reading at most {@link MAX_STATS_BODY_BYTES}. Never rejects: a failure is a coarse
 * reason (`unreachable`, `timeout`, `TLS error`, `refused address`, `HTTP 401`, `answer too
 * large`, `bad answer`), as health checks give it.
 */
export class CacheStatsClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: false });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: false });

  constructor(private readonly options: CacheStatsClientOptions) {}

  async read(host: string, credential: string): Promise<StatsReading> {
    let tooLarge = false;
    try {
      const url = resolveRegistryUrl(host, CACHE_STATS_PATH);
      this.options.addresses.checkHost(url);
      const request = got(url, {
        headers: { Authorization: `Bearer ${credential}`, Accept: 'application/json' },
        timeout: { request: this.options.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        decompress: false,
        responseType: 'buffer',
        dnsLookup: this.options.addresses.lookup,
        agent: { http: this.httpAgent, https: this.httpsAgent },
        https: { certificateAuthority: [...this.options.certificateAuthority] },
      });
      void request.on('downloadProgress', (progress: { transferred: number }) => {
        if (progress.transferred > MAX_STATS_BODY_BYTES) {
          tooLarge = true;
          request.cancel();
        }
      });
      const response = await request;
      if (response.statusCode !== 200) return { error: `HTTP ${response.statusCode}` };
      if (response.body.length > MAX_STATS_BODY_BYTES) return { error: 'answer too large' };
      try {
        return { stats: parseCacheStats(JSON.parse(response.body.toString('utf8'))) };
      } catch {
        return { error: 'bad answer' };
      }
    } catch (error) {
      if (tooLarge) return { error: 'answer too large' };
      return { error: coarseReason(error) };
    }
  }
}
