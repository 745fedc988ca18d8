import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Digest } from '@dtr-cache/registry-protocol';
import { writeOciImage } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { type StandInCache, startStandInCache } from './stand-in-cache';

const run = promisify(execFile);
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function skopeo(args: string[]) {
  return run('skopeo', ['--insecure-policy', ...args], { timeout: 60_000 });
}

describe('skopeo against dtr-api', () => {
  let dtr: RunningDtr;
  let directory: string;
  let host: string;

  beforeAll(async () => {
    // Installs Debian's skopeo if this machine lacks it (idempotent; needs root and apt).
    await run(process.execPath, [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'skopeo'], {
      timeout: 280_000,
    });
    dtr = await startDtr();
    await dtr.createUser('alice');
    directory = await mkdtemp(join(tmpdir(), 'skopeo-'));
    host = new URL(dtr.url).host;
  }, 300_000);

  /** Pulls alice/app:v1 as alice into an OCI layout at `target`. */
  const pullAsAlice = (target: string) =>
    skopeo([
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      'alice:alice-password',
      `docker://${host}/alice/app:v1`,
      `oci:${target}:v1`,
    ]);

  afterAll(async () => {
    await dtr?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('pushes a multi-layer image with credentials and pulls it back unchanged', async () => {
    const source = join(directory, 'source');
    const image = await writeOciImage(source, 'v1', 3);
    await skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'alice:alice-password',
      `oci:${source}:v1`,
      `docker://${host}/alice/app:v1`,
    ]);

    const { stdout } = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      'alice:alice-password',
      `docker://${host}/alice/app:v1`,
    ]);
    expect(Digest.of(stdout).toString()).toBe(image.manifestDigest);

    const copy = join(directory, 'copy');
    await pullAsAlice(copy);
    const index = JSON.parse(await readFile(join(copy, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    expect(index.manifests[0]?.digest).toBe(image.manifestDigest);
    for (const digest of [...image.layers, image.config]) {
      const content = await readFile(join(copy, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      expect(Digest.of(content).toString()).toBe(digest);
    }
  });

  it('refuses an anonymous pull of the private repository, allows it once public', async () => {
    const anonymous = join(directory, 'anonymous');
    await expect(
      skopeo([
        'copy',
        '--src-tls-verify=false',
        '--src-no-creds',
        `docker://${host}/alice/app:v1`,
        `oci:${anonymous}:v1`,
      ]),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/unauthorized|authentication required/i),
    });

    const patch = await dtr.fetch('/api/v0/repositories/alice/app', {
      ...json('PATCH', { visibility: 'public' }),
      authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}`,
    });
    expect(patch.status).toBe(200);
    await skopeo([
      'copy',
      '--src-tls-verify=false',
      '--src-no-creds',
      `docker://${host}/alice/app:v1`,
      `oci:${anonymous}:v1`,
    ]);
    const index = JSON.parse(await readFile(join(anonymous, 'index.json'), 'utf8')) as {
      manifests: unknown[];
    };
    expect(index.manifests).toHaveLength(1);
  });

  it('logs in with skopeo login, and refuses a wrong password', async () => {
    const authfile = join(directory, 'auth.json');
    const login = (password: string) =>
      skopeo([
        'login',
        '--tls-verify=false',
        '--authfile',
        authfile,
        '-u',
        'alice',
        '-p',
        password,
        host,
      ]);
    await login('alice-password');
    expect(JSON.parse(await readFile(authfile, 'utf8'))).toHaveProperty(['auths', host]);
    await expect(login('wrong')).rejects.toMatchObject({
      stderr: expect.stringMatching(
        /unauthorized|authentication required|incorrect|invalid username\/password/i,
      ),
    });
  });

  it('follows DTR’s redirect to the content cache the user chose', async () => {
    let cache: StandInCache | undefined;
    try {
      cache = await startStandInCache(() => dtr.url);
      const admin = basic(ADMIN.username, ADMIN.password);
      const registered = await dtr.fetch('/api/v0/content_caches', {
        ...json('POST', { name: 'stand-in', host: cache.url }),
        authorization: admin,
      });
      expect(registered.status).toBe(201);
      await dtr.services.cacheHealth.checkAll();
      const settings = await dtr.fetch('/api/v0/accounts/alice/settings', {
        ...json('PATCH', { contentCache: 'stand-in' }),
        authorization: admin,
      });
      expect(settings.status).toBe(200);

      const target = join(directory, 'through-cache');
      await pullAsAlice(target);
      const blobRequests = cache.requests.filter((request) =>
        /\/v2\/alice\/app\/blobs\/sha256:/.test(request.url),
      );
      expect(blobRequests.length).toBeGreaterThanOrEqual(4);
      expect(blobRequests.every((request) => request.url.includes('grant='))).toBe(true);
      expect(cache.requests.some((request) => request.url.includes('/manifests/'))).toBe(false);
    } finally {
      await cache?.close();
    }
  });

  it('refuses a push with wrong credentials', async () => {
    await expect(
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'alice:wrong',
        `oci:${join(directory, 'source')}:v1`,
        `docker://${host}/alice/app:v2`,
      ]),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(
        /unauthorized|authentication required|incorrect|invalid username\/password/i,
      ),
    });
  });
});
