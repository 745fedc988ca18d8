#!/usr/bin/env node
// A Docker engine for the docker suite and for `docker compose up` on a machine without one:
//
//   node tools/docker/dockerd.mjs start            start dockerd unless one answers; leave it running
//   node tools/docker/dockerd.mjs run -- <command>  the same, run <command>, then stop dockerd again
//                                                  if this script started it; exits with <command>'s code
//
// Installs Debian's docker.io and docker-compose when missing (tools/setup.mjs), and starts
// `dockerd --storage-driver=vfs --iptables=false` (works without overlay mounts or iptables), logging
// to /var/log/dtr-cache-dockerd.log. Needs root to start the engine.
import { spawn, spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const logFile = '/var/log/dtr-cache-dockerd.log';

function log(message) {
  process.stderr.write(`dockerd: ${message}\n`);
}

const answers = () => spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;

async function start() {
  const setup = spawnSync(
    process.execPath,
    [join(root, 'tools', 'setup.mjs'), '--apt', 'dockerd,docker-compose'],
    { stdio: 'inherit' },
  );
  if (setup.status !== 0) process.exit(setup.status ?? 1);
  if (answers()) {
    log('a Docker engine is already running');
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    log('no Docker engine answers, and starting one needs root');
    process.exit(1);
  }
  log(`starting dockerd (vfs storage, no iptables); log: ${logFile}`);
  const output = openSync(logFile, 'a');
  const daemon = spawn('dockerd', ['--storage-driver=vfs', '--iptables=false'], {
    detached: true,
    stdio: ['ignore', output, output],
  });
  daemon.unref();
  const deadline = Date.now() + 60_000;
  while (!answers()) {
    if (daemon.exitCode !== null || Date.now() > deadline) {
      log(`dockerd did not start; see ${logFile}`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log('dockerd is ready');
  return daemon;
}

async function stop(daemon) {
  log('stopping dockerd');
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  daemon.kill('SIGTERM');
  const timer = setTimeout(() => daemon.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const [mode, separator, ...command] = process.argv.slice(2);
if (mode === 'start' && separator === undefined) {
  await start();
} else if (mode === 'run' && separator === '--' && command.length > 0) {
  const daemon = await start();
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', cwd: root });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  const code = await new Promise((resolve) => child.once('exit', (status) => resolve(status ?? 1)));
  if (daemon) await stop(daemon);
  process.exit(code);
} else {
  log('usage: dockerd.mjs start | run -- <command> [args…]');
  process.exit(2);
}
