// A PostgreSQL server of the project's own around a command (libs/test-support startPostgres):
//
//   npx tsx tools/postgres/postgres.ts [--host 127.0.0.1] [--port 55432] -- <command> [args…]
//       starts the server, runs <command> with DTR_CACHE_POSTGRES_URL set, stops the server and
//       exits with <command>'s code
import { spawn } from 'node:child_process';
import { startPostgres, workspaceRoot } from '@dtr-cache/test-support';

const args = process.argv.slice(2);
const separator = args.indexOf('--');
const option = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`);
  return index !== -1 && index < separator ? (args[index + 1] ?? fallback) : fallback;
};
if (separator === -1 || separator === args.length - 1) {
  process.stderr.write('usage: postgres.ts [--host H] [--port P] -- <command> [args…]\n');
  process.exit(2);
}
const server = await startPostgres({
  host: option('host', '127.0.0.1'),
  port: Number(option('port', '55432')),
});
process.stderr.write(`postgres: ready at ${server.host}:${server.port}\n`);
const [command, ...rest] = args.slice(separator + 1) as [string, ...string[]];
const child = spawn(command, rest, {
  stdio: 'inherit',
  cwd: workspaceRoot,
  env: { ...process.env, DTR_CACHE_POSTGRES_URL: server.url() },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
const code = await new Promise<number>((resolve) =>
  child.once('exit', (status) => resolve(status ?? 1)),
);
await server.stop();
process.exit(code);
