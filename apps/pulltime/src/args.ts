import { parseArgs } from 'node:util';
import {
  CONTENT_CACHE_NAME_PATTERN,
  isValidRepositoryName,
  parseManifestReference,
} from '@dtr-cache/registry-protocol';
import { badArgument } from './cli-error';

/** `dtr-pulltime --help`. */
export const USAGE = `usage: dtr-pulltime --dtr URL --user NAME --image NAMESPACE/REPO[:TAG|@DIGEST] [options]

Pulls the image's blobs as docker does, straight from DTR and through each content cache, and
reports per route the total time, MB/s, time to first byte and what each cache did per blob.
The password comes from --password-stdin or the DTR_PASSWORD environment variable.

options:
  --dtr URL            DTR's address, e.g. https://dtr.example.com
  --user NAME          the user to pull as (needs pull access to the repository)
  --password-stdin     read the password from standard input
  --image REF          namespace/repo:tag or namespace/repo@sha256:... (tag default: latest)
  --cache NAME         a cache to measure (repeatable; default: every registered cache)
  --members            one route per member of each cache group, instead of the group
  --ca FILE            a PEM CA certificate to trust for DTR and the caches (repeatable)
  --platform OS/ARCH   the platform of a multi-platform image (default: linux/amd64)
  --concurrency N      blobs downloaded at once (default: 3, as docker)
  --timeout SECONDS    give up on a request without progress for this long (default: 60)
  --json FILE          also write the results as JSON to FILE (- for standard output only)
  --help               show this help

exit codes: 0 every route measured, 1 a pull failed, 2 bad arguments`;

/** The command line, read and checked. */
export interface PulltimeArgs {
  readonly help: boolean;
  readonly dtr: string;
  readonly user: string;
  readonly image: string;
  readonly caches: readonly string[];
  readonly members: boolean;
  readonly caFiles: readonly string[];
  readonly platform: string | undefined;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly json: string | undefined;
  readonly passwordStdin: boolean;
  /** `--password` (discouraged: other users of the machine see it). */
  readonly password: string | undefined;
}

const OPTIONS = {
  dtr: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  image: { type: 'string' },
  cache: { type: 'string', multiple: true },
  members: { type: 'boolean' },
  ca: { type: 'string', multiple: true },
  platform: { type: 'string' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** Node's parseArgs error as one line. */
function parseError(error: unknown): Error {
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? String(error);
  const option = /'(-[^' ]+)/.exec(text)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return badArgument(`unknown option ${option ?? text} (see --help)`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return badArgument(`unexpected argument ${/'([^']*)'/.exec(text)?.[1] ?? ''} (see --help)`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return badArgument(`${option ?? 'an option'} needs a value (see --help)`);
  return badArgument(`${text} (see --help)`);
}

/** Checks `namespace/repo[:tag|@digest]` as DTR names images (the pull names the rest). */
function checkImage(image: string): void {
  const at = image.indexOf('@');
  const colon = image.lastIndexOf(':');
  const split = at !== -1 ? at : colon > image.lastIndexOf('/') ? colon : -1;
  const repository = split === -1 ? image : image.slice(0, split);
  let valid = repository.split('/').length === 2 && isValidRepositoryName(repository);
  if (split !== -1) {
    const reference = image.slice(split + 1);
    try {
      valid &&= (at !== -1) === reference.includes(':');
      parseManifestReference(reference);
    } catch {
      valid = false;
    }
  }
  if (!valid)
    throw badArgument(
      `--image ${image} is not namespace/repo:tag or namespace/repo@sha256:... (lower-case names)`,
    );
}

function positiveNumber(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw badArgument(`--${option} must be a positive number (got ${text})`);
  return value;
}

/**
 * Reads the command line (without node and the script).
 * @throws CliError (exit 2) naming the first problem.
 */
export function parsePulltimeArgs(argv: readonly string[]): PulltimeArgs {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true }));
  } catch (error) {
    throw parseError(error);
  }
  const help = values.help === true;
  const required = (name: 'dtr' | 'user' | 'image'): string => {
    const value = values[name];
    if (help) return value ?? '';
    if (value === undefined || value === '')
      throw badArgument(`--${name} is required (see --help)`);
    return value;
  };
  const dtr = required('dtr');
  const user = required('user');
  const image = required('image');
  if (!help) {
    let url: URL | undefined;
    try {
      url = new URL(dtr);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
      throw badArgument(`--dtr ${dtr} is not an https:// (or http://) URL`);
    checkImage(image);
  }
  const caches = values.cache ?? [];
  const badName = caches.find((name) => !CONTENT_CACHE_NAME_PATTERN.test(name));
  if (badName !== undefined)
    throw badArgument(`--cache ${badName} is not a content cache name (lower case, digits, . _ -)`);
  if (values.platform !== undefined && !PLATFORM_PATTERN.test(values.platform))
    throw badArgument(`--platform ${values.platform} is not os/arch or os/arch/variant`);
  const concurrency = positiveNumber('concurrency', values.concurrency, 3);
  if (!Number.isInteger(concurrency))
    throw badArgument(`--concurrency must be a whole number (got ${values.concurrency})`);
  if (values.password !== undefined && values['password-stdin'] === true)
    throw badArgument('give the password once: --password-stdin or --password, not both');
  return {
    help,
    dtr: dtr.replace(/\/+$/, ''),
    user,
    image,
    caches,
    members: values.members === true,
    caFiles: values.ca ?? [],
    platform: values.platform,
    concurrency,
    timeoutMs: positiveNumber('timeout', values.timeout, 60) * 1000,
    json: values.json,
    passwordStdin: values['password-stdin'] === true,
    password: values.password,
  };
}
