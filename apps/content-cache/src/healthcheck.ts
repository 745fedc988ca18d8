/**
 * The container health check: `content-cache-healthcheck [config.yml]`. Reads the same
 * configuration as the running cache (its own argument, else PID 1's) and exits 0 if the cache
 * answers 200 on `/health` at its configured address, 1 otherwise.
 */
import { runHealthCheck } from '@dtr-cache/server-lifecycle';
import { loadCacheConfig } from './cache-config';

await runHealthCheck('content-cache-healthcheck', (file) => {
  const { http } = loadCacheConfig({ file }).registry;
  return { listen: http.listen, tls: http.tls !== undefined };
});
