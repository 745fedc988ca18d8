// Vitest global set-up of the suites that run against PostgreSQL: one server for the whole run
// (its own data folder, address and port), stopped when the run ends. Each test creates and
// drops databases of its own on it; they learn the server's URL through `inject('postgresUrl')`.
import { startPostgres } from './postgres.mjs';

export default async function setup({ provide }) {
  const server = await startPostgres({ host: '127.0.0.61', port: 55461 });
  provide('postgresUrl', server.url());
  return () => server.stop();
}
