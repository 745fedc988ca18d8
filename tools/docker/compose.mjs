#!/usr/bin/env node
// One command for the compose topology (docker-compose.yml), on this machine and on a normal one:
//
//   npm run compose -- up                  build the images and bring the topology up, wait for its
//                                          `init` step, print its URLs and passwords
//   npm run compose -- <anything else>     passed to compose as it is: `down -v`, `logs init`, `ps`
//
// - Compose v2 (`docker compose`) when the docker CLI has it, else v1 (`docker-compose`; Debian's
//   1.29 is installed when neither is there).
// - A Docker engine: started with tools/docker/dockerd.mjs (vfs storage, needs root) when none
//   answers, and left running (`docker info` answers from then on).
// - Base images: BUILD_IMAGE and BASE_IMAGE as set; else the official `node:22-bookworm` and
//   `node:22-bookworm-slim` when they are here already or an image registry is reachable; else local
//   equivalents built by tools/docker/build-base-image.mjs (Debian packages and this Node.js).
//   DTR_BASE_IMAGES=local or =official forces either choice.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OFFICIAL = { build: 'node:22-bookworm', slim: 'node:22-bookworm-slim' };
/** How long `up` waits for the init step (it waits for DTR and the caches to be healthy). */
const INIT_TIMEOUT_MS = 15 * 60_000;

function log(message) {
  process.stderr.write(`compose: ${message}\n`);
}

const succeeds = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

function node(script, args, options = {}) {
  const result = spawnSync(process.execPath, [join(root, script), ...args], {
    stdio: 'inherit',
    ...options,
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  return result;
}

/** `docker compose` (v2) when the CLI has it, else `docker-compose` (v1), installed if missing. */
function composeCommand() {
  if (succeeds('docker', ['compose', 'version'])) return ['docker', 'compose'];
  if (!succeeds('docker-compose', ['version']))
    node('tools/setup.mjs', ['--apt', 'docker-compose']);
  return ['docker-compose'];
}

function ensureEngine() {
  if (succeeds('docker', ['info'])) return;
  log('no Docker engine answers: starting one (tools/docker/dockerd.mjs start)');
  node('tools/docker/dockerd.mjs', ['start']);
}

/** Whether Docker can pull the official images: they are here, a mirror is set, or Hub answers. */
async function registryReachable() {
  if (Object.values(OFFICIAL).every((image) => succeeds('docker', ['image', 'inspect', image])))
    return true;
  const mirrors = spawnSync('docker', ['info', '--format', '{{json .RegistryConfig.Mirrors}}'], {
    encoding: 'utf8',
  }).stdout;
  if (mirrors && !['null', '[]'].includes(mirrors.trim())) return true;
  try {
    const answer = await fetch('https://registry-1.docker.io/v2/', {
      signal: AbortSignal.timeout(5_000),
    });
    return answer.status === 401 || answer.ok;
  } catch {
    return false;
  }
}

/** BUILD_IMAGE and BASE_IMAGE for the builds (see the top of this file). */
async function baseImages() {
  if (process.env.BUILD_IMAGE && process.env.BASE_IMAGE)
    return { build: process.env.BUILD_IMAGE, slim: process.env.BASE_IMAGE };
  const choice = process.env.DTR_BASE_IMAGES;
  if (choice === 'official' || (choice !== 'local' && (await registryReachable()))) {
    log(`base images: ${OFFICIAL.build}, ${OFFICIAL.slim}`);
    return OFFICIAL;
  }
  log('no image registry is reachable: local base images (tools/docker/build-base-image.mjs)');
  const built = node('tools/docker/build-base-image.mjs', [], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  return JSON.parse(built.stdout);
}

function runCompose(compose, args, env) {
  const [command, ...prefix] = compose;
  return spawnSync(command, [...prefix, ...args], { stdio: 'inherit', cwd: root, env }).status;
}

/** `up`: detached with a build, then waits for the init step and prints what it printed. */
async function up(compose, rest, env) {
  const detached = rest.some((arg) => arg === '-d' || arg === '--detach');
  const status = runCompose(compose, ['up', ...(detached ? [] : ['-d']), '--build', ...rest], env);
  if (status !== 0) process.exit(status ?? 1);
  const [command, ...prefix] = compose;
  const id = execFileSync(command, [...prefix, 'ps', '-q', 'init'], {
    cwd: root,
    env,
    encoding: 'utf8',
  }).trim();
  if (!id) {
    log('no init container: see `npm run compose -- ps`');
    process.exit(1);
  }
  log('waiting for the init step (DTR and the caches healthy, the caches registered)');
  const waited = spawnSync('docker', ['wait', id], { encoding: 'utf8', timeout: INIT_TIMEOUT_MS });
  runCompose(compose, ['logs', '--no-color', 'init'], env);
  const code = Number(waited.stdout?.trim());
  if (waited.status !== 0 || code !== 0) {
    log(
      waited.status === null
        ? `init did not end within ${INIT_TIMEOUT_MS / 60_000} minutes`
        : `init failed (exit ${waited.stdout?.trim() || waited.status}): see its log above`,
    );
    process.exit(1);
  }
  log('up; stop with `npm run compose -- down` (add -v to remove the data volumes)');
}

const args = process.argv.slice(2);
if (args.length === 0) {
  log('usage: npm run compose -- up | down [-v] | logs [service] | <any compose command>');
  process.exit(2);
}
ensureEngine();
const compose = composeCommand();
log(`using ${compose.join(' ')}`);
if (args[0] === 'up') {
  const images = await baseImages();
  const env = { ...process.env, BUILD_IMAGE: images.build, BASE_IMAGE: images.slim };
  await up(compose, args.slice(1), env);
} else {
  process.exit(runCompose(compose, args, process.env) ?? 1);
}
