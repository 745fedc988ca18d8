import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Runs `tools/generate-certs.mjs --out <directory> <specs…>`: a local CA (`ca.pem`) and, per
 * `name=host[,host…]` spec, `<name>.pem` and `<name>-key.pem`.
 * @throws if the tool fails (e.g. openssl is missing).
 */
export function generateCertificates(directory: string, ...specs: string[]): void {
  execFileSync(process.execPath, [
    join(workspaceRoot, 'tools', 'generate-certs.mjs'),
    '--out',
    directory,
    ...specs,
  ]);
}
