import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCertificates, httpsGet } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCache, type StartedCache, stopCache } from './cache-process';
import { StandInOrigin } from './stand-in-origin';

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const stockConfigs = join(workspaceRoot, 'libs', 'config', 'test', 'fixtures', 'registry');

let directory: string;
let origin: StandInOrigin;
let configs = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'cache-compat-'));
  generateCertificates(
    join(directory, 'certs'),
    'dtr=127.0.0.1',
    'cache=127.0.0.1,localhost',
    'client=client.example.com',
  );
  origin = await StandInOrigin.startWithCertificates(join(directory, 'certs'));
});

afterAll(async () => {
  await origin.close();
  await rm(directory, { recursive: true, force: true });
});

const certificate = (name: string) => join(directory, 'certs', name);

/** Writes a config: `body` (a registry config.yml) plus the downstream middleware to the origin. */
async function writeConfig(
  body: string,
  downstreamExtra = '',
): Promise<{ file: string; root: string }> {
  configs += 1;
  const root = join(directory, `data-${configs}`);
  const text = `${body
    .replace(/rootdirectory: \S+/, `rootdirectory: ${root}`)
    .replace(/addr: :5000/, 'addr: 127.0.0.1:0')
    .replace(/addr: :5001/, 'addr: 127.0.0.1:0')}
middleware:
  registry:
    - name: downstream
      options:
        upstreams:
          - originhost: ${origin.url}
        cas: [${certificate('ca.pem')}]${downstreamExtra}
`;
  const file = join(directory, `config-${configs}.yml`);
  await writeFile(file, text);
  return { file, root };
}

async function withCache<T>(file: string, use: (cache: StartedCache) => Promise<T>): Promise<T> {
  const cache = await startCache(file);
  try {
    return await use(cache);
  } finally {
    expect(await stopCache(cache)).toBe(0);
  }
}

async function blobUrl(base: string, content: Buffer): Promise<string> {
  const digest = origin.add(content);
  return `${base}/v2/team/app/blobs/${digest}?grant=${await origin.grant('team/app', digest)}`;
}

const warningsIn = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.includes('msg="configuration key has no effect here"'))
    .map((line) => /key=(\S+)/.exec(line)?.[1]);

describe("the registry's stock configurations start a content cache", () => {
  it("Debian's docker-registry config.yml: serves, warns once about auth, checks its storage", async () => {
    const stock = await readFile(join(stockConfigs, 'debian-docker-registry.yml'), 'utf8');
    const { file } = await writeConfig(stock);
    await withCache(file, async (cache) => {
      const base = `http://127.0.0.1:${cache.port}`;
      const content = randomBytes(5000);
      const response = await fetch(await blobUrl(base, content));
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
      expect(warningsIn(cache.output())).toEqual(['auth']);
      expect(cache.output()).toContain('reason="ignored: users authenticate to DTR');
      expect((await fetch(`${base}/health`)).status).toBe(200);
    });
  });

  it("the registry project's example config: warns about storage.tag and auth", async () => {
    const stock = await readFile(join(stockConfigs, 'distribution-config-example.yml'), 'utf8');
    const { file } = await writeConfig(stock);
    await withCache(file, async (cache) => {
      expect(warningsIn(cache.output())).toEqual(['storage.tag', 'auth']);
      const content = randomBytes(100);
      expect((await fetch(await blobUrl(`http://127.0.0.1:${cache.port}`, content))).status).toBe(
        200,
      );
    });
  });

  it("the registry project's development config: metrics and health on its debug server", async () => {
    const stock = await readFile(join(stockConfigs, 'distribution-config-dev.yml'), 'utf8');
    const { file } = await writeConfig(stock);
    await withCache(file, async (cache) => {
      const debugPort = /msg="debug server listening" (?:\S+ )*?addr=\S*:(\d+)/.exec(
        cache.output(),
      )?.[1];
      expect(debugPort).toBeDefined();
      const debug = `http://127.0.0.1:${debugPort}`;
      // (Until every worker is up, the primary's aggregate has nothing to add up.)
      await expect
        .poll(async () => {
          const metrics = await fetch(`${debug}/metrics`);
          return `${metrics.status} ${await metrics.text()}`;
        })
        .toMatch(/^200 [^]*# TYPE/);
      expect((await fetch(`${debug}/debug/health`)).status).toBe(200);
      // Metrics moved off the main port, as the registry serves them.
      expect((await fetch(`http://127.0.0.1:${cache.port}/metrics`)).status).toBe(404);
    });
  });
});

describe('registry keys a content cache honours', () => {
  it('log: json lines with its fields, down to debug, without the access log when disabled; http.host logged', async () => {
    const { file } = await writeConfig(
      'version: 0.1\nhttp:\n  addr: :5000\n  host: https://cache.example.com\nlog:\n  level: debug\n  formatter: json\n  fields: { office: los-angeles }\n  accesslog: { disabled: true }\nauth: { htpasswd: { path: /x } }\n',
    );
    await withCache(file, async (cache) => {
      const content = randomBytes(3000);
      const response = await fetch(await blobUrl(`http://127.0.0.1:${cache.port}`, content));
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
      // An access log line is written as its response closes: give it time to appear.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const lines = cache
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; level: string; office?: string });
      const warning = lines.find((line) => line.msg === 'configuration key has no effect here');
      expect(warning).toMatchObject({ level: 'warn', office: 'los-angeles', key: 'auth' });
      expect(lines.find((line) => line.msg === 'listening')).toMatchObject({
        host: 'https://cache.example.com/',
      });
      expect(lines.some((line) => line.level === 'debug')).toBe(true);
      await expect.poll(() => cache.output().includes('"msg":"fill started"')).toBe(true);
      expect(cache.output()).not.toContain('"msg":"blob request"');
    });
  });

  it('http.prefix: the registry API is served below it, and only there', async () => {
    const { file } = await writeConfig('version: 0.1\nhttp:\n  addr: :5000\n  prefix: /cache/\n');
    await withCache(file, async (cache) => {
      const content = randomBytes(2000);
      const root = `http://127.0.0.1:${cache.port}`;
      const inside = await fetch(await blobUrl(`${root}/cache`, content));
      expect(inside.status).toBe(200);
      expect(Buffer.from(await inside.arrayBuffer()).equals(content)).toBe(true);
      expect((await fetch(`${root}/cache/v2/`)).status).toBe(200);
      const outside = await fetch(await blobUrl(root, content));
      expect(outside.status).toBe(404);
      expect(await outside.json()).toMatchObject({ errors: [{ code: 'NOT_FOUND' }] });
      expect((await fetch(`${root}/health`)).status).toBe(200);
    });
  });

  it('health.storagedriver: /health answers 503 with the reason while the disk fails its checks', async () => {
    const { file, root } = await writeConfig(
      'version: 0.1\nhttp:\n  addr: :5000\nstorage:\n  filesystem:\n    rootdirectory: /x\nhealth:\n  storagedriver:\n    enabled: true\n    interval: 100ms\n    threshold: 2\n',
    );
    await withCache(file, async (cache) => {
      const health = async () => {
        const response = await fetch(`http://127.0.0.1:${cache.port}/health`);
        return { status: response.status, body: (await response.json()) as { reason?: string } };
      };
      expect((await health()).status).toBe(200);
      // The temp directory becomes a file: no temp file can be created. The cache's check may make
      // the directory again between the two steps (every 100 ms): until the file is in place.
      await expect
        .poll(
          async () => {
            await rm(join(root, 'tmp'), { recursive: true, force: true });
            return writeFile(join(root, 'tmp'), 'not a directory').then(
              () => true,
              () => false,
            );
          },
          { timeout: 5000 },
        )
        .toBe(true);
      await expect.poll(async () => (await health()).status, { timeout: 5000 }).toBe(503);
      expect((await health()).body.reason).toMatch(/^storage check failed \d+ times in a row/);
      await rm(join(root, 'tmp'));
      // The cache may make its temp directory again first (a fill or the check itself).
      await mkdir(join(root, 'tmp'), { recursive: true });
      await expect.poll(async () => (await health()).status, { timeout: 5000 }).toBe(200);
    });
  });

  it('storage.maintenance.uploadpurging: removes temp files older than age, keeps newer ones', async () => {
    const purging = (dryrun: boolean) =>
      `version: 0.1\nhttp:\n  addr: :5000\nstorage:\n  filesystem:\n    rootdirectory: /x\n  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 1h\n      interval: 200ms\n      dryrun: ${dryrun}\n`;
    for (const dryRun of [false, true]) {
      const { file, root } = await writeConfig(purging(dryRun));
      await withCache(file, async (cache) => {
        await mkdir(join(root, 'tmp'), { recursive: true });
        const stale = join(root, 'tmp', 'abandoned-fill');
        const fresh = join(root, 'tmp', 'recent-fill');
        await writeFile(stale, randomBytes(1000));
        await writeFile(fresh, randomBytes(1000));
        const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
        await utimes(stale, twoHoursAgo, twoHoursAgo);
        const purged = dryRun ? 'msg="temp files would be purged"' : 'msg="temp files purged"';
        await expect.poll(() => cache.output().includes(purged), { timeout: 5000 }).toBe(true);
        const exists = (path: string) =>
          readFile(path).then(
            () => true,
            () => false,
          );
        expect(await exists(stale)).toBe(dryRun);
        expect(await exists(fresh)).toBe(true);
      });
    }
    // Two caches start and stop one after the other (each with its workers in that project).
  }, 60_000);

  it('storage.maintenance.readonly: hits served, a miss fetched once for all its clients and not kept', async () => {
    const body = (readonly: boolean) =>
      `version: 0.1\nhttp:\n  addr: :5000\nstorage:\n  filesystem:\n    rootdirectory: /x\n  maintenance:\n    readonly:\n      enabled: ${readonly}\n`;
    const { file, root } = await writeConfig(body(false));
    const stored = randomBytes(50_000);
    const storedDigest = origin.add(stored);
    const storedUrl = async (port: number) =>
      `http://127.0.0.1:${port}/v2/team/app/blobs/${storedDigest}?grant=${await origin.grant('team/app', storedDigest)}`;
    await withCache(file, async (cache) => {
      expect((await fetch(await storedUrl(cache.port))).status).toBe(200);
      await expect
        .poll(async () => {
          const health = await fetch(`http://127.0.0.1:${cache.port}/health`);
          return ((await health.json()) as { fillsInProgress: number }).fillsInProgress;
        })
        .toBe(0);
    });
    const readOnly = await writeConfig(body(true), '\n        workers: 2');
    await writeFile(
      readOnly.file,
      (await readFile(readOnly.file, 'utf8')).replace(readOnly.root, root),
    );
    await withCache(readOnly.file, async (cache) => {
      expect(cache.output()).toContain('storage.maintenance.readonly');
      const hit = await fetch(await storedUrl(cache.port));
      expect(Buffer.from(await hit.arrayBuffer()).equals(stored)).toBe(true);
      expect(origin.blobGets(storedDigest)).toBe(1);

      const missed = randomBytes(3 * 1024 * 1024);
      const digest = origin.add(missed, { kind: 'slow', delayMs: 20 });
      const url = `http://127.0.0.1:${cache.port}/v2/team/app/blobs/${digest}?grant=${await origin.grant('team/app', digest)}`;
      const bodies = await Promise.all(
        [0, 1, 2].map(async () => Buffer.from(await (await fetch(url)).arrayBuffer())),
      );
      for (const each of bodies) expect(each.equals(missed)).toBe(true);
      expect(origin.blobGets(digest)).toBe(1);
      // Not kept: the next pull goes upstream again.
      const again = await fetch(url);
      expect(Buffer.from(await again.arrayBuffer()).equals(missed)).toBe(true);
      expect(origin.blobGets(digest)).toBe(2);
    });
  }, 60_000);

  it('http.tls.clientauth require-any-client-cert: a connection without a certificate is closed', async () => {
    const { file } = await writeConfig(
      `version: 0.1\nhttp:\n  addr: :5000\n  tls:\n    certificate: ${certificate('cache.pem')}\n    key: ${certificate('cache-key.pem')}\n    clientcas: [${certificate('ca.pem')}]\n    clientauth: require-any-client-cert\n    ciphersuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n`,
    );
    await withCache(file, async (cache) => {
      const ca = await readFile(certificate('ca.pem'), 'utf8');
      const url = `https://localhost:${cache.port}/v2/`;
      await expect(httpsGet(url, ca)).rejects.toThrow();
      const withCertificate = await httpsGet(url, ca, {
        cert: await readFile(certificate('client.pem'), 'utf8'),
        key: await readFile(certificate('client-key.pem'), 'utf8'),
      });
      expect(withCertificate.status).toBe(200);
    });
  });
});
