import type { RequestListener } from 'node:http';
import { healthOf, pathOf, type CacheServices } from './app';

/** What the debug server serves: health always, metrics at `metricsPath` when set. */
export type DebugServices = Pick<
  CacheServices,
  'keys' | 'storageHealth' | 'fillsInProgress' | 'metricsText' | 'metrics'
>;

/**
 * The request listener of `http.debug.addr`, as the registry's debug server: `/debug/health`
 * (the cache's health, as `/health`) and, with `http.debug.prometheus.enabled`, the metrics at
 * its `path`. Anything else is 404. It never listens itself.
 */
export function createDebugListener(
  services: DebugServices,
  metricsPath: string | undefined,
): RequestListener {
  return (request, response) => {
    const path = pathOf(request.url ?? '/');
    const answer = async () => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      } else if (path === '/debug/health') {
        const health = await healthOf(services);
        response.writeHead(health.status, { 'Content-Type': 'application/json' });
        response.end(request.method === 'HEAD' ? undefined : JSON.stringify(health.body));
      } else if (metricsPath !== undefined && path === metricsPath) {
        const text = await services.metricsText();
        response.writeHead(200, { 'Content-Type': services.metrics.registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      } else {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      }
    };
    answer().catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
}
