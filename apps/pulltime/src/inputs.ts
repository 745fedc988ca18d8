import { readFile } from 'node:fs/promises';
import type { PulltimeArgs } from './args';
import { badArgument } from './cli-error';

/** Environment variable the password may come from. */
export const PASSWORD_VARIABLE = 'DTR_PASSWORD';

/**
 * The password: the first line of `stdin` with `--password-stdin`, else `--password` (with a
 * warning through `warn`), else `DTR_PASSWORD`.
 * @throws CliError (exit 2) when there is none.
 */
export async function readPassword(
  args: PulltimeArgs,
  env: NodeJS.ProcessEnv,
  stdin: AsyncIterable<Buffer | string>,
  warn: (line: string) => void,
): Promise<string> {
  if (args.passwordStdin) {
    let text = '';
    for await (const chunk of stdin) text += chunk.toString();
    const password = text.split(/\r?\n/)[0] ?? '';
    if (password === '') throw badArgument('--password-stdin: standard input had no password');
    return password;
  }
  if (args.password !== undefined) {
    warn(
      `warning: --password is visible to other users of this machine; use --password-stdin or ${PASSWORD_VARIABLE}`,
    );
    return args.password;
  }
  const password = env[PASSWORD_VARIABLE];
  if (password === undefined || password === '')
    throw badArgument(`no password: use --password-stdin or set ${PASSWORD_VARIABLE}`);
  return password;
}

/**
 * The PEM CA certificates of `--ca`.
 * @throws CliError (exit 2) for a file that cannot be read or holds no certificate.
 */
export async function readCas(files: readonly string[]): Promise<Buffer[]> {
  return Promise.all(
    files.map(async (file) => {
      let pem: Buffer;
      try {
        pem = await readFile(file);
      } catch (error) {
        throw badArgument(`--ca ${file}: ${(error as Error).message}`);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        throw badArgument(`--ca ${file} holds no PEM certificate`);
      return pem;
    }),
  );
}
