/**
 * The commands `npm start` prints (and puts in `endpoints.json`) work as printed: the ready image
 * is pushed with skopeo from its archive, then pulled as the demo user with skopeo and with ctr (a
 * containerd of this test's own, with the hosts.toml start.ts wrote), its blobs served by the demo
 * user's cache, los-angeles. docker and podman use the same certificate folder; the docker suite
 * (`npm run test:docker`) runs docker itself.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningTopology, startTopology, workspaceRoot } from '@dtr-cache/test-support';

const run = promisify(execFile);

interface Command {
  argv: string[];
  line: string;
}
/** `endpoints.json`'s `clients`. */
interface Clients {
  image: {
    archive: string;
    reference: string;
    manifestDigest: string;
    configDigest: string;
    layerDigest: string;
  };
  certDir: string;
  hostsDir: string;
  push: Command;
  pull: { skopeo: Command; docker: Command[]; podman: Command; ctr: Command };
}

/** Runs a printed command; `extra` arguments go right after the program (global options). */
const runCommand = (command: Command, extra: string[] = []) =>
  run(command.argv[0] as string, [...extra, ...command.argv.slice(1)], { timeout: 120_000 });

/** A containerd of the test's own (its own root, state and socket); stopped by the caller. */
async function startContainerd(folder: string): Promise<{ socket: string; daemon: ChildProcess }> {
  const socket = join(folder, 'containerd.sock');
  const config = join(folder, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${join(folder, 'root')}"`,
      `state = "${join(folder, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '',
    ].join('\n'),
  );
  const daemon = spawn('containerd', ['--config', config], { stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answered = await run('ctr', ['--address', socket, 'version']).then(
      () => true,
      () => false,
    );
    if (answered) return { socket, daemon };
    if (daemon.exitCode !== null || Date.now() > deadline)
      throw new Error('containerd did not start');
    await new Promise((tick) => setTimeout(tick, 250));
  }
}

describe('npm start: the printed push and pull commands', () => {
  let topology: RunningTopology;
  let clients: Clients;
  let work: string;
  let containerd: { socket: string; daemon: ChildProcess } | undefined;

  beforeAll(async () => {
    // Installs Debian's skopeo and containerd (ctr) if this machine lacks them (needs root and apt).
    await run(
      process.execPath,
      [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'skopeo,ctr,containerd'],
      { timeout: 300_000 },
    );
    work = await mkdtemp(join(tmpdir(), 'dtr-clients-'));
    topology = await startTopology('127.0.0.130');
    clients = (topology.endpoints as unknown as { clients: Clients }).clients;
  });

  afterAll(async () => {
    if (containerd) {
      const exited = new Promise((done) => containerd?.daemon.once('exit', done));
      containerd.daemon.kill('SIGTERM');
      await exited;
    }
    await topology?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('prints each command as endpoints.json has it, and writes the folders they read', async () => {
    const output = topology.output();
    for (const command of [
      clients.push,
      clients.pull.skopeo,
      clients.pull.podman,
      clients.pull.ctr,
      ...clients.pull.docker,
    ])
      expect(output).toContain(command.line);
    const registry = new URL(topology.endpoints.dtr.url).host;
    expect(clients.certDir).toBe(join(topology.data, 'clients', 'docker', 'certs.d', registry));
    // DTR's CA and the caches' (blobs are redirected to a cache with a CA of its own).
    const hostsToml = await readFile(join(clients.hostsDir, registry, 'hosts.toml'), 'utf8');
    expect(hostsToml).toContain(`server = "https://${registry}"`);
    for (const file of ['ca.crt', 'los-angeles-ca.crt', 'san-francisco-ca.crt']) {
      expect(hostsToml).toContain(join(clients.hostsDir, registry, file));
      expect(await readFile(join(clients.certDir, file), 'utf8')).toContain('BEGIN CERTIFICATE');
    }
    expect(await readFile(join(clients.certDir, 'ca.crt'))).toEqual(topology.cas[0]);
  });

  it('has a ready image of a few KB, the same bytes on every start', async () => {
    const archive = await readFile(clients.image.archive);
    expect(archive.length).toBeLessThan(16_384);
    const again = await mkdtemp(join(work, 'again-'));
    // tools/images/hello-image.ts again, as start.ts runs it (tsx), in a process of its own.
    const script = [
      "import { writeHelloImage } from './tools/images/hello-image.ts';",
      `const image = writeHelloImage(${JSON.stringify(join(again, 'hello.tar'))});`,
      'process.stdout.write(JSON.stringify(image));',
    ].join('\n');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: workspaceRoot },
    );
    const rewritten = JSON.parse(stdout) as { archive: string; manifestDigest: string };
    expect(await readFile(rewritten.archive)).toEqual(archive);
    expect(rewritten.manifestDigest).toBe(clients.image.manifestDigest);
  });

  it('pushes the image with the printed skopeo command and pulls it with skopeo through los-angeles', async () => {
    await runCommand(clients.push);
    await runCommand(clients.pull.skopeo);
    const pulledTo = /^oci:(.*):latest$/.exec(clients.pull.skopeo.argv.at(-1) ?? '')?.[1] ?? '';
    const index = JSON.parse(await readFile(join(pulledTo, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    expect(index.manifests[0]?.digest).toBe(clients.image.manifestDigest);
    await expect
      .poll(() => topology.cacheResults('los-angeles', clients.image.layerDigest))
      .toEqual(['miss']);
  });

  it('pulls it with the printed ctr command (hosts.toml naming both CAs) through los-angeles', async () => {
    containerd = await startContainerd(await mkdtemp(join(work, 'containerd-')));
    await runCommand(clients.pull.ctr, ['--address', containerd.socket]);
    const { stdout } = await run('ctr', ['--address', containerd.socket, 'images', 'ls', '-q']);
    expect(stdout.split('\n')).toContain(clients.image.reference);
    await expect
      .poll(() => topology.cacheResults('los-angeles', clients.image.layerDigest))
      .toEqual(['miss', 'hit']);
  });
});
