/**
 * The compose topology with the real Docker engine: testcontainers brings docker-compose.yml up
 * (images built from the Dockerfiles on local base images), then `docker login`, `docker push` and
 * `docker pull` go through DTR with the demo user's cache (los-angeles, via san-francisco).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment } from 'testcontainers';
import { blobRequests, getResults } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestImage, dockerOutput, localBaseImages, workspaceRoot } from './compose-support';
import { SUITE_IMAGE_TAG } from './suite-images';

const run = promisify(execFile);

// Addresses of their own, so a default `docker compose up` (127.0.0.20-23) or `npm start`
// (127.0.0.10-13) on the same machine does not collide with the suite.
// (DTR on .40, the caches on .41-.43).
const DTR_HOST = '127.0.0.40';
const registry = `${DTR_HOST}:5443`;
const project = `dtr-e2e-${randomBytes(3).toString('hex')}`;
const demoPassword = randomBytes(12).toString('base64url');
const image = `${registry}/demo/app`;

/** The standard output of a docker command. */
const docker = async (dockerConfig: string, args: string[], input?: string) =>
  (await dockerOutput(dockerConfig, args, input)).stdout.trim();

describe('docker compose topology, with docker login, push and pull', () => {
  let environment: StartedDockerComposeEnvironment | undefined;
  let dockerConfig: string;
  let context: string;
  let pushedId: string;
  let layers: string[];

  /** A compose service's log lines (the apps log to standard error). */
  const logLines = async (service: string) =>
    (await dockerOutput(dockerConfig, ['logs', `${project}_${service}_1`])).stderr.split('\n');

  /** cache= of a compose service's GET `blob request` lines for `digest`: miss, hit, coalesced… */
  const cacheResults = async (service: string, digest: string) =>
    getResults(await logLines(service), digest);

  beforeAll(async () => {
    dockerConfig = await mkdtemp(join(tmpdir(), 'dtr-docker-config-'));
    context = await mkdtemp(join(tmpdir(), 'dtr-docker-image-'));
    // No image registry is reachable here: equivalents of the official Node images, built locally.
    const base = localBaseImages();
    environment = await new DockerComposeEnvironment(workspaceRoot, 'docker-compose.yml')
      .withProjectName(project)
      .withBuild()
      .withEnvironment({
        DTR_HOST,
        BUILD_IMAGE: base.build,
        BASE_IMAGE: base.slim,
        DTR_CACHE_TAG: SUITE_IMAGE_TAG,
        DTR_DEMO_PASSWORD: demoPassword,
      })
      // Debian's docker-compose (1.29), the standalone command.
      .withClientOptions({ executable: { standalone: true } })
      .up();
    // `up` returns once init started; it starts only after DTR and the caches are healthy.
    const exitCode = await docker(dockerConfig, ['wait', `${project}_init_1`]);
    if (exitCode !== '0') throw new Error(`init failed:\n${(await logLines('init')).join('\n')}`);

    pushedId = await buildTestImage(dockerConfig, context, `${image}:v1`);
  });

  afterAll(async () => {
    await environment?.down({ removeVolumes: true, timeout: 10_000 });
    await run('docker', ['rmi', '--force', `${image}:v1`]).catch(() => undefined);
    if (dockerConfig) await rm(dockerConfig, { recursive: true, force: true });
    if (context) await rm(context, { recursive: true, force: true });
  });

  it('lists the healthy servers and the finished setup and init steps', async () => {
    const states = await docker(dockerConfig, [
      'ps',
      '--all',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{.Names}} {{.Status}}',
    ]);
    for (const service of ['dtr', 'region-us', 'san-francisco', 'los-angeles'])
      expect(states).toMatch(new RegExp(`${project}_${service}_1 Up .*\\(healthy\\)`));
    expect(states).toMatch(new RegExp(`${project}_setup_1 Exited \\(0\\)`));
    expect(states).toMatch(new RegExp(`${project}_init_1 Exited \\(0\\)`));
  });

  it('pushes as the demo user and pulls the same image through los-angeles and san-francisco', async () => {
    const login = await docker(
      dockerConfig,
      ['login', registry, '--username', 'demo', '--password-stdin'],
      demoPassword,
    );
    expect(login).toContain('Login Succeeded');
    await docker(dockerConfig, ['push', `${image}:v1`]);
    const manifest = JSON.parse(
      await docker(dockerConfig, [
        'image',
        'inspect',
        '--format',
        '{{json .RootFS.Layers}}',
        `${image}:v1`,
      ]),
    ) as string[];
    expect(manifest).toHaveLength(2);

    await docker(dockerConfig, ['rmi', `${image}:v1`]);
    await docker(dockerConfig, ['pull', `${image}:v1`]);
    const pulledId = await docker(dockerConfig, [
      'image',
      'inspect',
      '--format',
      '{{.Id}}',
      `${image}:v1`,
    ]);
    expect(pulledId).toBe(pushedId);

    // Every blob (the config and both compressed layers) came from los-angeles, filled through
    // san-francisco; the config blob's digest is the image ID.
    // The digests los-angeles served with GET: the config blob (the image ID) and the layers.
    const served = blobRequests(await logLines('los-angeles'))
      .filter((line) => line.method === 'GET')
      .map((line) => line.digest);
    layers = [...new Set(served)].filter((digest) => digest !== pushedId);
    expect(layers).toHaveLength(2);
    for (const digest of [pushedId, ...layers]) {
      expect(await cacheResults('los-angeles', digest), digest).toEqual(['miss']);
      expect(await cacheResults('san-francisco', digest), digest).toEqual(['miss']);
      expect(await cacheResults('region-us', digest), digest).toEqual([]);
    }
  });

  it('carries dtr-pulltime on the PATH of both images', async () => {
    for (const name of ['dtr-api', 'content-cache']) {
      const help = await docker(dockerConfig, [
        'run',
        '--rm',
        '--entrypoint',
        'dtr-pulltime',
        `dtr-cache/${name}:${SUITE_IMAGE_TAG}`,
        '--help',
      ]);
      expect(help, name).toContain('usage: dtr-pulltime --dtr URL --user NAME --image');
    }
  });

  it('serves a second pull from los-angeles alone', async () => {
    await docker(dockerConfig, ['rmi', `${image}:v1`]);
    await docker(dockerConfig, ['pull', `${image}:v1`]);
    expect(
      await docker(dockerConfig, ['image', 'inspect', '--format', '{{.Id}}', `${image}:v1`]),
    ).toBe(pushedId);
    for (const digest of [pushedId, ...layers]) {
      expect(await cacheResults('los-angeles', digest), digest).toEqual(['miss', 'hit']);
      expect(await cacheResults('san-francisco', digest), digest).toEqual(['miss']);
    }
  });
});
