#!/usr/bin/env node
// Builds local equivalents of the official Node.js images when no image registry is reachable:
//
//   dtr-cache/node:<node version>-bookworm-slim   Debian bookworm (minbase) + this machine's Node.js
//                                                 and npm in /usr/local, user `node` (uid 1000)
//   dtr-cache/node:<node version>-bookworm        the same plus python3, make and g++ (native addons)
//
// Like `node:22-bookworm-slim` and `node:22-bookworm`, which the Dockerfiles use by default. The root
// file system comes from debootstrap (Debian's package mirror) and is turned into an image with
// `docker import`; the build variant is a `docker build` on top of it. The CAs this machine added
// to its trust store (/usr/local/share/ca-certificates) are trusted in the images too. Idempotent: images that exist
// are kept (`--force` rebuilds). Prints the two image names as JSON.
//
//   node tools/docker/build-base-image.mjs [--force]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const force = process.argv.includes('--force');
const mirror = process.env.DEBIAN_MIRROR || 'http://deb.debian.org/debian';
const slimImage = `dtr-cache/node:${process.versions.node}-bookworm-slim`;
const buildImage = `dtr-cache/node:${process.versions.node}-bookworm`;

function log(message) {
  process.stderr.write(`base-image: ${message}\n`);
}

/** Runs a step; its output goes to stderr, since this script's stdout is its JSON answer. */
function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ['ignore', 2, 'inherit'], ...options });
}

function imageExists(name) {
  return spawnSync('docker', ['image', 'inspect', name], { stdio: 'ignore' }).status === 0;
}

function buildSlim() {
  run(process.execPath, [join(root, 'tools', 'setup.mjs'), '--apt', 'debootstrap']);
  const work = mkdtempSync(join(tmpdir(), 'dtr-base-image-'));
  const rootfs = join(work, 'rootfs');
  try {
    log(`debootstrap bookworm (minbase) from ${mirror}`);
    run(
      'debootstrap',
      ['--variant=minbase', '--include=ca-certificates', 'bookworm', rootfs, mirror],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    // Node.js as the official images lay it out: /usr/local/{bin,include,lib/node_modules}.
    const nodePrefix = dirname(dirname(process.execPath));
    const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    cpSync(process.execPath, join(rootfs, 'usr/local/bin/node'));
    cpSync(join(npmRoot, 'npm'), join(rootfs, 'usr/local/lib/node_modules/npm'), {
      recursive: true,
    });
    cpSync(join(nodePrefix, 'include', 'node'), join(rootfs, 'usr/local/include/node'), {
      recursive: true,
    });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
    // The CAs this machine adds to Debian's (e.g. a proxy's), so the image trusts what it trusts.
    const localCas = '/usr/local/share/ca-certificates';
    if (existsSync(localCas)) {
      cpSync(localCas, join(rootfs, localCas.slice(1)), { recursive: true });
      run('chroot', [rootfs, 'update-ca-certificates'], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    run('chroot', [rootfs, 'groupadd', '--gid', '1000', 'node']);
    run('chroot', [rootfs, 'useradd', '--uid', '1000', '--gid', 'node', '--create-home', 'node']);
    run('chroot', [rootfs, 'apt-get', 'clean']);
    for (const folder of [
      'var/lib/apt/lists',
      'usr/share/doc',
      'usr/share/man',
      'var/cache/debconf',
    ])
      rmSync(join(rootfs, folder), { recursive: true, force: true });
    writeFileSync(join(rootfs, 'etc/resolv.conf'), '');

    log(`docker import → ${slimImage}`);
    const tar = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], {
      maxBuffer: 4 * 1024 ** 3,
    });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    run(
      'docker',
      [
        'import',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        `ENV NODE_VERSION=${process.versions.node}`,
        '--change',
        // Node.js has its own CA list; this makes it trust the system's (with the local CAs).
        'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
        '--change',
        'CMD ["node"]',
        '-',
        slimImage,
      ],
      { input: tar.stdout, stdio: ['pipe', 'ignore', 'inherit'] },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function buildWithToolchain() {
  log(`docker build → ${buildImage} (python3, make, g++)`);
  // Node's headers are in the image, so node-gyp never downloads them.
  const dockerfile = [
    `FROM ${slimImage}`,
    'RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \\',
    ' && rm -rf /var/lib/apt/lists/*',
    'ENV npm_config_nodedir=/usr/local',
    '',
  ].join('\n');
  run('docker', ['build', '--network', 'host', '--tag', buildImage, '-'], {
    input: dockerfile,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
}

if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
  log('no Docker engine answers; start one with `node tools/docker/start-dockerd.mjs`');
  process.exit(1);
}
if (force || !imageExists(slimImage)) buildSlim();
if (force || !imageExists(buildImage)) buildWithToolchain();
process.stdout.write(`${JSON.stringify({ slim: slimImage, build: buildImage })}\n`);
