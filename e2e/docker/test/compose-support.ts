import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The checkout the compose files and Dockerfiles are in. */
export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const run = promisify(execFile);

/**
 * Runs the docker CLI with a client configuration of the suite's own (its login stays out of
 * ~/.docker), `input` on its standard input.
 * @throws the command's failure (its output in the error).
 */
export async function dockerOutput(
  dockerConfig: string,
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string }> {
  const child = run('docker', args, {
    env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  return await child;
}

/**
 * The local equivalents of the official Node images (no image registry is reachable here), built
 * by tools/docker/build-base-image.mjs when missing: the compose builds' BASE_IMAGE and BUILD_IMAGE.
 */
export function localBaseImages(): { slim: string; build: string } {
  return JSON.parse(
    execFileSync(process.execPath, [join(workspaceRoot, 'tools/docker/build-base-image.mjs')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  ) as { slim: string; build: string };
}

/**
 * Builds a two-layer image (3 MB and 2 MB of random bytes, FROM scratch: nothing to pull) in
 * `context` and tags it `reference`.
 * @returns its image id.
 */
export async function buildTestImage(
  dockerConfig: string,
  context: string,
  reference: string,
): Promise<string> {
  await writeFile(join(context, 'one.bin'), randomBytes(3_000_000));
  await writeFile(join(context, 'two.bin'), randomBytes(2_000_000));
  await writeFile(
    join(context, 'Dockerfile'),
    'FROM scratch\nCOPY one.bin /\nCOPY two.bin /\nCMD ["/one.bin"]\n',
  );
  await dockerOutput(dockerConfig, ['build', '--quiet', '--tag', reference, context]);
  return (
    await dockerOutput(dockerConfig, ['image', 'inspect', '--format', '{{.Id}}', reference])
  ).stdout.trim();
}
