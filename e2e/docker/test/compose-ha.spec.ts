/**
 * docker-compose.yml's `ha` profile with the real Docker engine: PostgreSQL, three DTR replicas on it
 * and nginx at the one DTR address (images built locally: Debian's packages on the local base image),
 * with the caches and the chain of the default profile. `docker login` and `docker push` go through
 * nginx and reach more than one replica; a pull's blobs come from the demo user's cache
 * (los-angeles, filled through san-francisco).
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerComposeEnvironment } from 'testcontainers';
import { blobRequests, getResults } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestImage, dockerOutput, localBaseImages, workspaceRoot } from './compose-support';
import { SUITE_IMAGE_TAG } from './suite-images';

const run = promisify(execFile);

// Addresses of their own: no other suite, `npm start` (.10), `docker compose up` (.20) or
// `npm run start:ha` uses them. DTR (nginx) on .50:5443, the replicas on .50:5451-5453,
// PostgreSQL on .50:55432, the caches on .51-.53.
const DTR_HOST = '127.0.0.50';
const registry = `${DTR_HOST}:5443`;
const project = `dtr-e2e-ha-${randomBytes(3).toString('hex')}`;
const demoPassword = randomBytes(12).toString('base64url');
const image = `${registry}/demo/ha-app`;
const replicas = ['dtr', 'dtr-2', 'dtr-3'];
const servers = [...replicas, 'postgres', 'nginx', 'region-us', 'san-francisco', 'los-angeles'];

// Compose v2 (the docker CLI plugin) when installed, else Debian's docker-compose 1.29.
const composePlugin = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;

describe('docker compose ha profile: DTR replicas on PostgreSQL behind nginx', () => {
  let dockerConfig: string;
  let context: string;
  let composeEnvironment: Record<string, string>;
  let pushedId: string;

  /** The standard output of a docker command. */
  const docker = async (args: string[], input?: string) =>
    (await dockerOutput(dockerConfig, args, input)).stdout.trim();

  /** The container of a compose service of the project (found by its labels: v1 and v2 name them differently). */
  const containerOf = async (service: string) => {
    const id = await docker([
      'ps',
      '--all',
      '--quiet',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ]);
    if (!id) throw new Error(`no container for ${service}`);
    return id;
  };

  /** A compose service's log lines (the apps log to standard error, nginx and PostgreSQL too). */
  const logLines = async (service: string) => {
    const { stdout, stderr } = await dockerOutput(dockerConfig, [
      'logs',
      await containerOf(service),
    ]);
    return `${stdout}\n${stderr}`.split('\n');
  };

  /** How many `request` lines a replica logged for the test repository (health checks aside). */
  const repositoryRequests = async (replica: string) =>
    (await logLines(replica)).filter(
      (line) => /\bmsg=request\b/.test(line) && line.includes('path=/v2/demo/ha-app/'),
    ).length;

  beforeAll(async () => {
    dockerConfig = await mkdtemp(join(tmpdir(), 'dtr-docker-config-'));
    context = await mkdtemp(join(tmpdir(), 'dtr-docker-image-'));
    // No image registry is reachable here: equivalents of the official Node images, built locally;
    // PostgreSQL's and nginx's images are Debian's packages on the slim one.
    const base = localBaseImages();
    composeEnvironment = {
      COMPOSE_PROFILES: 'ha',
      DTR_HOST,
      BUILD_IMAGE: base.build,
      BASE_IMAGE: base.slim,
      DTR_CACHE_TAG: SUITE_IMAGE_TAG,
      DTR_DEMO_PASSWORD: demoPassword,
    };
    await new DockerComposeEnvironment(workspaceRoot, 'docker-compose.yml')
      .withProjectName(project)
      .withBuild()
      .withEnvironment(composeEnvironment)
      .withClientOptions(composePlugin ? {} : { executable: { standalone: true } })
      .up();
    // `up` returns once init started; init waits for every replica and nginx, then provisions.
    const exitCode = await docker(['wait', await containerOf('init')]);
    if (exitCode !== '0') throw new Error(`init failed:\n${(await logLines('init')).join('\n')}`);

    pushedId = await buildTestImage(dockerConfig, context, `${image}:v1`);
    // Images built on vfs (PostgreSQL's and nginx's from scratch, the others from the build cache
    // of the spec before when there was one), then the project started.
  }, 1_800_000);

  afterAll(async () => {
    // Whether or not `up` got through: the project's containers, networks and volumes.
    if (composeEnvironment) {
      const [command, ...prefix] = composePlugin ? ['docker', 'compose'] : ['docker-compose'];
      await run(
        command as string,
        [...prefix, '--project-name', project, '--file', 'docker-compose.yml', 'down', '--volumes'],
        { cwd: workspaceRoot, env: { ...process.env, ...composeEnvironment } },
      );
    }
    await run('docker', ['rmi', '--force', `${image}:v1`]).catch(() => undefined);
    if (dockerConfig) await rm(dockerConfig, { recursive: true, force: true });
    if (context) await rm(context, { recursive: true, force: true });
  });

  it('runs PostgreSQL, three replicas on it and nginx, all healthy, with the caches', async () => {
    for (const service of servers) {
      const state = await docker([
        'inspect',
        '--format',
        '{{.State.Status}} {{.State.Health.Status}}',
        await containerOf(service),
      ]);
      expect(state, service).toBe('running healthy');
    }
    for (const replica of replicas)
      expect(
        (await logLines(replica)).some(
          (line) => line.includes('msg="database opened"') && line.includes('engine=postgresql'),
        ),
        replica,
      ).toBe(true);
  });

  it('takes a login and a push at the one DTR address and spreads them over the replicas', async () => {
    const login = await docker(
      ['login', registry, '--username', 'demo', '--password-stdin'],
      demoPassword,
    );
    expect(login).toContain('Login Succeeded');
    await docker(['push', `${image}:v1`]);
    const counts = await Promise.all(replicas.map(repositoryRequests));
    // Round-robin without stickiness: the push's requests (blob checks, uploads, the manifest)
    // landed on several replicas, which share the upload sessions through the database.
    expect(
      counts.filter((count) => count > 0).length,
      `requests per replica: ${counts.join(', ')}`,
    ).toBeGreaterThan(1);
  });

  it('serves the pull through nginx with every blob from los-angeles, filled through san-francisco', async () => {
    await docker(['rmi', `${image}:v1`]);
    await docker(['pull', `${image}:v1`]);
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', `${image}:v1`])).toBe(pushedId);
    // The config blob (the image ID) and both compressed layers, each fetched once by each hop.
    const served = [
      ...new Set(
        blobRequests(await logLines('los-angeles'))
          .filter((line) => line.method === 'GET')
          .map((line) => line.digest),
      ),
    ];
    expect(served).toContain(pushedId);
    expect(served).toHaveLength(3);
    for (const digest of served) {
      expect(getResults(await logLines('los-angeles'), digest), digest).toEqual(['miss']);
      expect(getResults(await logLines('san-francisco'), digest), digest).toEqual(['miss']);
    }
  });
});
