import type { LogEvent } from 'kysely';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { matchRegistryRoute } from '@dtr-cache/registry-protocol';

/**
 * The route label of a request: the registry route's name (`blob`, `manifest`, …), or the area of
 * DTR it reached. A fixed set, whatever the paths asked: the metrics cannot grow with requests.
 */
export function routeLabel(path: string, method: string): string {
  if (path === '/v2' || path.startsWith('/v2/')) {
    try {
      return `registry-${matchRegistryRoute(path, method)?.name ?? 'unknown'}`;
    } catch {
      // A malformed digest or a method the route does not have (answered 400/405 already).
      return 'registry-invalid';
    }
  }
  if (path === '/auth/token') return 'token';
  if (path.startsWith('/api/')) return 'api';
  if (path === '/health' || path === '/metrics' || path === '/.well-known/jwks.json')
    return path.slice(1);
  return 'ui';
}

/** The status label: the code for the few that matter, else its class. */
function statusLabel(status: number): string {
  return [200, 201, 202, 204, 206, 304, 307, 400, 401, 403, 404, 429, 500, 503].includes(status)
    ? String(status)
    : `${Math.floor(status / 100)}xx`;
}

/** DTR's Prometheus metrics, in a registry of its own (served at `/metrics`). */
export class DtrMetrics {
  readonly registry = new Registry();
  private countUploads: () => Promise<number> = () => Promise.resolve(0);

  readonly requests = new Counter({
    name: 'dtr_http_requests_total',
    help: 'Requests answered, by route and status.',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'dtr_http_request_duration_seconds',
    help: 'Time to answer a request (to its last byte), by route.',
    labelNames: ['route'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [this.registry],
  });
  readonly redirects = new Counter({
    name: 'dtr_blob_redirects_total',
    help: 'Blob GETs sent to a content cache with a signed grant, by cache.',
    labelNames: ['cache'],
    registers: [this.registry],
  });
  readonly servedDirectly = new Counter({
    name: 'dtr_blobs_served_directly_total',
    help: 'Blob GETs DTR answered itself, by reason: anonymous, no-cache (none chosen), cache-unhealthy, cache-fill (a cache filling its copy with a grant), route-none (X-Content-Cache-Route: none).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly queryDuration = new Histogram({
    name: 'dtr_database_query_duration_seconds',
    help: 'Time of a database query, by engine and outcome.',
    labelNames: ['engine', 'outcome'],
    buckets: [0.0005, 0.002, 0.01, 0.05, 0.25, 1, 5],
    registers: [this.registry],
  });
  readonly uploadSessions: Gauge = new Gauge({
    name: 'dtr_upload_sessions',
    help: 'Blob upload sessions open (all replicas: read from the database).',
    registers: [this.registry],
    // While the database does not answer, the last count stays: the scrape itself still works.
    collect: async (): Promise<void> => {
      const count = await this.countUploads().catch(() => undefined);
      if (count !== undefined) this.uploadSessions.set(count);
    },
  });

  /** Sets where `dtr_upload_sessions` reads the sessions open. */
  countUploadsWith(count: () => Promise<number>): void {
    this.countUploads = count;
  }

  /** Records one answered request; never throws (it runs after the error handling). */
  observeRequest(path: string, method: string, status: number, seconds: number): void {
    const route = routeLabel(path, method);
    this.requests.inc({
      route,
      method,
      status: statusLabel(status),
    });
    this.requestDuration.observe({ route }, seconds);
  }

  /** A Kysely `log` function recording every query's time. */
  queryLogger(engine: string): (event: LogEvent) => void {
    return (event) =>
      this.queryDuration.observe(
        { engine, outcome: event.level === 'error' ? 'error' : 'ok' },
        event.queryDurationMillis / 1000,
      );
  }
}
