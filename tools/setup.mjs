#!/usr/bin/env node
// Idempotent set-up for a fresh machine. Uses only Node built-ins: it runs before any
// dependency is installed.
//
//   node tools/setup.mjs                 npm dependencies (installed when package-lock.json changed)
//   node tools/setup.mjs --apt skopeo    also the Debian packages that provide these commands
//
// `npm test` and `npm start` call it first, so the README's two commands are all a newcomer needs.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'node_modules', '.dtr-cache-setup.json');

/** Debian package that provides each command the project may need. */
const debianPackages = {
  skopeo: 'skopeo',
  ctr: 'containerd',
  containerd: 'containerd',
  docker: 'docker.io',
  dockerd: 'docker.io',
  'docker-compose': 'docker-compose',
  'docker-registry': 'docker-registry',
  pebble: 'pebble',
  debootstrap: 'debootstrap',
  nginx: 'nginx-light',
  wrk: 'wrk',
  chromium: 'chromium',
  curl: 'curl',
  postgres: 'postgresql',
};

/** Commands Debian installs outside PATH: where to look for them. */
const commandsOffPath = {
  // /usr/lib/postgresql/<version>/bin/postgres
  postgres: () =>
    existsSync('/usr/lib/postgresql') &&
    readdirSync('/usr/lib/postgresql').some((version) =>
      existsSync(join('/usr/lib/postgresql', version, 'bin', 'postgres')),
    ),
};

function log(message) {
  process.stderr.write(`setup: ${message}\n`);
}

function checkNodeVersion() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const supported = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 24;
  if (!supported) {
    log(`Node ${process.versions.node} is not supported; use Node 20.19+, 22.12+ or 24+`);
    process.exit(1);
  }
}

function lockFingerprint() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  return createHash('sha256').update(lock).update(process.versions.node).digest('hex');
}

// `npm install` (not `npm ci`): the lockfile pins every version, but the package registry this
// project is built against does not carry every other platform's optional binaries (e.g. rollup's
// android builds), so the lockfile cannot list them and `npm ci` would refuse it.
function installNpmDependencies() {
  if (existsSync(stampFile)) {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (stamp.fingerprint === lockFingerprint()) return;
  }
  log('installing npm dependencies (npm install, pinned by package-lock.json)');
  const result = spawnSync('npm', ['install', '--no-fund', '--no-audit'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    log('npm install failed');
    process.exit(result.status ?? 1);
  }
  const fingerprint = lockFingerprint();
  writeFileSync(stampFile, JSON.stringify({ fingerprint, at: new Date().toISOString() }) + '\n');
}

function hasCommand(command) {
  if (commandsOffPath[command]?.()) return true;
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function installDebianPackages(commands) {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length === 0) return;
  const packages = missing.map((command) => {
    const name = debianPackages[command];
    if (!name) {
      log(`no Debian package is known for command "${command}"`);
      process.exit(1);
    }
    return name;
  });
  if (process.getuid?.() !== 0) {
    log(`missing commands ${missing.join(', ')}: install Debian packages ${packages.join(' ')}`);
    process.exit(1);
  }
  log(`installing Debian packages: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt (a boot-time update, a parallel set-up) holding its lock is waited for, not failed on.
  const wait = ['-o', 'DPkg::Lock::Timeout=600'];
  execFileSync('apt-get', [...wait, 'update', '-qq'], { stdio: 'inherit', env });
  execFileSync(
    'apt-get',
    [...wait, 'install', '-y', '-qq', '--no-install-recommends', ...packages],
    { stdio: 'inherit', env },
  );
}

checkNodeVersion();
installNpmDependencies();
const aptIndex = process.argv.indexOf('--apt');
if (aptIndex !== -1) {
  const commands = (process.argv[aptIndex + 1] ?? '').split(',').filter(Boolean);
  installDebianPackages(commands);
}
