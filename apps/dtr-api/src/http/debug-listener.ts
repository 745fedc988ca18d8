import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * The request listener of `http.debug.addr`, as the registry's debug server: `/debug/health` is
 * DTR's `/health` (answered by `app`), and with `http.debug.prometheus.enabled` the metrics are
 * at its `path` (they leave the main port). Anything else is 404. It never listens itself.
 */
export function createDebugListener(
  app: (request: IncomingMessage, response: ServerResponse) => void,
  metrics: Registry,
  metricsPath: string | undefined,
): RequestListener {
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/debug/health' && request.method === 'GET') {
      request.url = '/health';
      app(request, response);
    } else if (metricsPath !== undefined && path === metricsPath && request.method === 'GET') {
      metrics.metrics().then(
        (text) => {
          response.writeHead(200, {
            'Content-Type': metrics.contentType,
            'Cache-Control': 'no-store',
          });
          response.end(text);
        },
        () => response.writeHead(500).end(),
      );
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
    }
  };
}
