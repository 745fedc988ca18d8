import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The tag of the images the compose specs build (`DTR_CACHE_TAG`). One tag for all of them: the
 * first spec builds the images, the next ones build again from Docker's build cache (seconds, not
 * the quarter of an hour a build from scratch takes on vfs).
 */
export const SUITE_IMAGE_TAG = 'e2e';

/**
 * vitest's global setup: after the last spec, the suite's images and the build stages' untagged
 * images (labelled in the Dockerfiles) are removed; nothing else is pruned.
 */
export default function setup(): () => Promise<void> {
  return async () => {
    await run('docker', [
      'rmi',
      '--force',
      ...['dtr-api', 'content-cache', 'postgres', 'nginx'].map(
        (name) => `dtr-cache/${name}:${SUITE_IMAGE_TAG}`,
      ),
    ]).catch(() => undefined);
    await run('docker', ['image', 'prune', '--force', '--filter', 'label=dtr-cache.stage=build']);
  };
}
