import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The cache's Prometheus metrics, in a registry of its own (served at /metrics). */
export class CacheMetrics {
  readonly registry = new Registry();
  /** Sets where `content_cache_fills_in_progress` reads the upstream downloads under way here. */
  countFillsWith(downloads: () => number): void {
    this.countDownloads = downloads;
  }
  readonly requests = new Counter({
    name: 'content_cache_blob_requests_total',
    help: 'Blob requests by result: hit, miss, coalesced, denied, error.',
    labelNames: ['method', 'result'],
    registers: [this.registry],
  });
  readonly bytesServed = new Counter({
    name: 'content_cache_blob_bytes_served_total',
    help: 'Blob bytes sent to clients, by result.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly bytesFetched = new Counter({
    name: 'content_cache_upstream_bytes_stored_total',
    help: 'Blob bytes fetched from upstream and stored (fills committed).',
    registers: [this.registry],
  });
  readonly fills = new Counter({
    name: 'content_cache_fills_total',
    help: 'Upstream fills by outcome: committed or failed.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private countDownloads: () => number = () => 0;
  /** Read when collected (in every worker, summed by the primary): see {@link countFillsWith}. */
  readonly fillsInProgress: Gauge = new Gauge({
    name: 'content_cache_fills_in_progress',
    help: 'Upstream fills under way.',
    registers: [this.registry],
    collect: (): void => this.fillsInProgress.set(this.countDownloads()),
  });
  readonly duration = new Histogram({
    name: 'content_cache_blob_request_duration_seconds',
    help: 'Time to serve a blob request, by result.',
    labelNames: ['result'],
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [this.registry],
  });
}
