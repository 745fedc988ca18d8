/** skopeo against a plain-HTTP fleet: push an OCI layout, pull into one, read what was pulled. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Copies `layout:v1` to `docker://<registry>/<reference>`. */
export async function push(
  registry: string,
  layout: string,
  reference: string,
  creds: string,
): Promise<void> {
  await run(
    'skopeo',
    [
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      `oci:${layout}:v1`,
      `docker://${registry}/${reference}`,
    ],
    { timeout: 120_000 },
  );
}

/** Pulls `docker://<registry>/<reference>` into the OCI layout `into`, retrying as told. */
export async function pull(
  registry: string,
  reference: string,
  creds: string,
  into: string,
  retryTimes = 0,
): Promise<void> {
  await run(
    'skopeo',
    [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      creds,
      ...(retryTimes > 0 ? ['--retry-times', String(retryTimes)] : []),
      `docker://${registry}/${reference}`,
      `oci:${into}:latest`,
    ],
    { timeout: 180_000 },
  );
}

/** The manifest digest skopeo wrote to an OCI layout. */
export async function pulledManifest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  return index.manifests[0]?.digest ?? '';
}
