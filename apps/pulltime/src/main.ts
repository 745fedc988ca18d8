import { type FileHandle, open } from 'node:fs/promises';
import { USAGE, parsePulltimeArgs } from './args';
import { listContentCaches } from './cache-list';
import { CliError, EXIT_BAD_ARGUMENTS, EXIT_FAILED } from './cli-error';
import { readCas, readPassword } from './inputs';
import { type RouteResult, measureRoute } from './measure';
import { reportJson, reportTable } from './report';
import { buildRoutes, type PullRoute } from './routes';

const NAME = 'dtr-pulltime';
const DEFAULT_PLATFORM = 'linux/amd64';
const line = (text: string) => process.stderr.write(`${NAME}: ${text}\n`);

/** How a failed route is named on its line (the direct route's failure is about the image). */
const failureLine = (route: PullRoute, message: string) =>
  route.cache === null
    ? message
    : `cache ${route.cache}${route.member === null ? '' : ` member ${route.member}`}: ${message}`;

/** `--json FILE` opened before anything is measured, so a bad path is a bad argument. */
async function openJson(file: string | undefined): Promise<FileHandle | 'stdout' | undefined> {
  if (file === undefined || file === '-') return file === '-' ? 'stdout' : undefined;
  try {
    return await open(file, 'w');
  } catch (error) {
    throw new CliError(`--json ${file}: ${(error as Error).message}`, EXIT_BAD_ARGUMENTS);
  }
}

async function main(): Promise<number> {
  const args = parsePulltimeArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const password = await readPassword(args, process.env, process.stdin, line);
  const cas = await readCas(args.caFiles);
  const json = await openJson(args.json);
  const startedAt = new Date().toISOString();
  const access = { dtr: args.dtr, user: args.user, password, cas, timeoutMs: args.timeoutMs };
  const routes = buildRoutes(await listContentCaches(access), args.caches, args.members);
  const target = {
    dtr: args.dtr,
    username: args.user,
    password,
    image: args.image,
    ca: cas,
    platform: args.platform,
  };
  const results: RouteResult[] = [];
  for (const route of routes) {
    if (process.stderr.isTTY) line(`measuring ${route.name}…`);
    const result = await measureRoute(route, target, {
      concurrency: args.concurrency,
      timeoutMs: args.timeoutMs,
    });
    results.push(result);
    if (result.error) line(failureLine(route, result.error.message));
    // Without the direct pull there is nothing to compare with, and each cache would fail alike.
    if (result.error && route.cache === null) break;
  }
  const document = reportJson(
    {
      dtr: args.dtr,
      user: args.user,
      image: args.image,
      platform: args.platform ?? DEFAULT_PLATFORM,
      concurrency: args.concurrency,
      startedAt,
    },
    results,
  );
  const text = `${JSON.stringify(document, null, 2)}\n`;
  if (json === 'stdout') process.stdout.write(text);
  else if (json) {
    await json.writeFile(text);
    await json.close();
  }
  const directFailed = results[0]?.error !== null;
  if (json !== 'stdout' && !directFailed) process.stdout.write(`${reportTable(results)}\n`);
  return document.failed > 0 ? EXIT_FAILED : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof CliError) {
    line(error.message);
    process.exitCode = error.exitCode;
  } else {
    line(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = EXIT_FAILED;
  }
}
