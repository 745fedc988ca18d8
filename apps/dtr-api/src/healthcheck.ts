/**
 * The container health check: `dtr-api-healthcheck [config.yml]`. Reads the same configuration as
 * the running DTR (its own argument, else PID 1's) and exits 0 if DTR answers 200 on `/health` at
 * its configured address, 1 otherwise.
 */
import { runHealthCheck } from '@dtr-cache/server-lifecycle';
import { loadDtrConfig } from './dtr-config';

await runHealthCheck('dtr-api-healthcheck', (file) => {
  const { http } = loadDtrConfig({ file });
  return { listen: http.listen, tls: http.tls !== undefined };
});
