import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The manifest digest skopeo wrote to an OCI layout. */
export async function pulledManifest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  return index.manifests[0]?.digest ?? '';
}

/**
 * `skopeo copy` as a user runs it, with its own retries (`--retry-times 5`), as `creds`, trusting
 * the CAs in `certDir`; layouts are folders of `work`.
 */
export function skopeoCopy(options: { work: string; certDir: string; creds: string }) {
  const copy = (args: string[]) =>
    run('skopeo', ['--insecure-policy', 'copy', '--retry-times', '5', ...args], {
      timeout: 180_000,
      cwd: options.work,
    });
  return {
    /** Pushes the layout `layout` (tag v1) to `target` (a registry's host:port) as `reference`. */
    push: (layout: string, target: string, reference: string, extra: string[] = []) =>
      copy([
        '--dest-cert-dir',
        options.certDir,
        '--dest-creds',
        options.creds,
        ...extra,
        `oci:${join(options.work, layout)}:v1`,
        `docker://${target}/${reference}`,
      ]),
    /** Pulls `reference` from `target` into the layout `into` (tag latest). */
    pull: (target: string, reference: string, into: string, extra: string[] = []) =>
      copy([
        '--src-cert-dir',
        options.certDir,
        '--src-creds',
        options.creds,
        ...extra,
        `docker://${target}/${reference}`,
        `oci:${join(options.work, into)}:latest`,
      ]),
  };
}
