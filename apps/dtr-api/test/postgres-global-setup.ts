// Vitest global set-up of the project that runs DTR's suites on PostgreSQL: one server for the
// whole run (its own data folder, address and port), stopped when the run ends. Each test creates
// and drops databases of its own on it; they learn its URL through `inject('postgresUrl')`.
import { startPostgres } from '@dtr-cache/test-support';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres({ host: '127.0.0.61', port: 55461 });
  project.provide('postgresUrl', server.url());
  return () => server.stop();
}
