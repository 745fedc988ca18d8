/**
 * What a person needs to try `npm start` with real clients, written under the data folder: the
 * certificate folders each client reads, a ready image to push, and the exact commands — push with
 * skopeo from the image archive, then pull with skopeo, docker, podman and ctr as the demo user,
 * whose blobs DTR redirects to a content cache (a server with a CA of its own, so every client
 * must trust the caches' CAs for DTR's address as well as DTR's).
 *
 *   <data>/clients/docker/certs.d/<dtr host:port>/   ca.crt (DTR's), <cache>-ca.crt: docker's
 *                                                     layout; skopeo and podman take it as --cert-dir
 *   <data>/clients/containerd/certs.d/<dtr host:port>/hosts.toml (+ the same CA files): ctr --hosts-dir
 *   <data>/images/hello.tar                           the image (OCI and docker archive in one)
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HelloImage, writeHelloImage } from '../images/hello-image';
import type { User } from './topology';

/** A command as arguments (for tests and scripts) and as a line to paste into a shell. */
export interface ClientCommand {
  readonly argv: readonly string[];
  readonly line: string;
}

/** The client set-up `npm start` prints and puts in `endpoints.json` (`clients`). */
export interface ClientSetup {
  readonly image: HelloImage & { readonly reference: string };
  /** `--cert-dir` of skopeo and podman; copied to /etc/docker/certs.d/<registry>/ for docker. */
  readonly certDir: string;
  /** `ctr images pull --hosts-dir`. */
  readonly hostsDir: string;
  readonly push: ClientCommand;
  readonly pull: {
    readonly skopeo: ClientCommand;
    /** Run in order (certificates once, login once). */
    readonly docker: readonly ClientCommand[];
    readonly podman: ClientCommand;
    /** Needs a running containerd (and root, for its socket). */
    readonly ctr: ClientCommand;
  };
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`;
}

const command = (...argv: string[]): ClientCommand => ({
  argv,
  line: argv.map(shellQuote).join(' '),
});

/** hosts.toml for containerd: DTR at `registry`, trusting every CA file given (DTR's first). */
export function hostsToml(registry: string, caFiles: readonly string[]): string {
  return [
    `# ctr images pull --hosts-dir <this folder's parent> ${registry}/<repository>:<tag>`,
    '# Blobs are redirected to a content cache with a CA of its own: both CAs are trusted here.',
    `server = "https://${registry}"`,
    '',
    `[host."https://${registry}"]`,
    '  capabilities = ["pull", "resolve", "push"]',
    `  ca = [${caFiles.map((file) => JSON.stringify(file)).join(', ')}]`,
    '',
  ].join('\n');
}

/**
 * Writes the certificate folders and the image under `data`, and answers the commands. `cas` are
 * the CA files of the TLS servers by name (`dtr` first; the caches'); `registry` is DTR's
 * `host:port`.
 */
export function writeClientSetup(
  data: string,
  registry: string,
  cas: Readonly<Record<string, string>>,
  user: User,
): ClientSetup {
  const caFileName = (name: string) => (name === 'dtr' ? 'ca.crt' : `${name}-ca.crt`);
  const certDir = join(data, 'clients', 'docker', 'certs.d', registry);
  const hostsDir = join(data, 'clients', 'containerd', 'certs.d');
  const containerdFolder = join(hostsDir, registry);
  for (const folder of [certDir, containerdFolder]) {
    mkdirSync(folder, { recursive: true });
    for (const [name, file] of Object.entries(cas))
      copyFileSync(file, join(folder, caFileName(name)));
  }
  writeFileSync(
    join(containerdFolder, 'hosts.toml'),
    hostsToml(
      registry,
      Object.keys(cas).map((name) => join(containerdFolder, caFileName(name))),
    ),
  );
  const written = writeHelloImage(join(data, 'images', 'hello.tar'));
  const reference = `${registry}/${user.username}/hello:latest`;
  const creds = `${user.username}:${user.password}`;
  // Docker reads its CAs from a root-owned folder: `sudo` unless the topology runs as root.
  const asRoot = process.getuid?.() === 0 ? [] : ['sudo'];
  return {
    image: { ...written, reference },
    certDir,
    hostsDir,
    push: command(
      'skopeo',
      'copy',
      '--dest-cert-dir',
      certDir,
      '--dest-creds',
      creds,
      `oci-archive:${written.archive}`,
      `docker://${reference}`,
    ),
    pull: {
      skopeo: command(
        'skopeo',
        'copy',
        '--src-cert-dir',
        certDir,
        '--src-creds',
        creds,
        `docker://${reference}`,
        `oci:${join(data, 'images', 'pulled')}:latest`,
      ),
      docker: [
        command(...asRoot, 'mkdir', '-p', '/etc/docker/certs.d'),
        command(...asRoot, 'cp', '-r', certDir, '/etc/docker/certs.d/'),
        command('docker', 'login', registry, '-u', user.username, '-p', user.password),
        command('docker', 'pull', reference),
      ],
      podman: command('podman', 'pull', '--cert-dir', certDir, '--creds', creds, reference),
      ctr: command('ctr', 'images', 'pull', '--hosts-dir', hostsDir, '--user', creds, reference),
    },
  };
}
