import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, generateCertificates, httpsGet } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandInOrigin } from './stand-in-origin';

const run = promisify(execFile);
const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspaceRoot = join(appRoot, '..', '..');
const bin = join(appRoot, 'bin', 'content-cache.mjs');

function waitFor(
  child: ChildProcess,
  output: () => string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (pattern.test(output())) {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve();
      }
    }, 50);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`timed out waiting for ${pattern}:\n${output()}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearInterval(timer);
      clearTimeout(deadline);
      reject(new Error(`exited with ${code}:\n${output()}`));
    });
  });
}

describe("Let's Encrypt (http.tls.letsencrypt) against a local ACME CA (Debian's pebble)", () => {
  let directory: string;
  let pebble: ChildProcess | undefined;
  let cache: ChildProcess | undefined;
  let origin: StandInOrigin;
  let pebbleCa: string;
  let managementPort: number;
  let cachePort: number;
  let configFile: string;
  let cacheOutput = '';

  beforeAll(async () => {
    await run(process.execPath, [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'pebble'], {
      timeout: 280_000,
    });
    directory = await mkdtemp(join(tmpdir(), 'acme-'));
    generateCertificates(join(directory, 'certs'), 'pebble=127.0.0.1,localhost');
    pebbleCa = await readFile(join(directory, 'certs', 'ca.pem'), 'utf8');
    const acmePort = await freePort();
    managementPort = await freePort();
    cachePort = await freePort();
    await writeFile(
      join(directory, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: join(directory, 'certs', 'pebble.pem'),
          privateKey: join(directory, 'certs', 'pebble-key.pem'),
          httpPort: await freePort(),
          tlsPort: cachePort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    pebble = spawn('pebble', ['-config', join(directory, 'pebble.json')], {
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
        PEBBLE_AUTHZREUSE: '0',
      },
      stdio: 'ignore',
    });
    for (let attempt = 0; ; attempt += 1) {
      try {
        if ((await httpsGet(`https://127.0.0.1:${acmePort}/dir`, pebbleCa)).status === 200) break;
      } catch {
        if (attempt > 100) throw new Error('pebble did not start');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    origin = await StandInOrigin.start();
    configFile = join(directory, 'config.yml');
    await writeFile(
      configFile,
      `version: 0.1
storage: { filesystem: { rootdirectory: ${directory}/data } }
http:
  addr: 127.0.0.1:${cachePort}
  tls:
    letsencrypt:
      cachefile: ${directory}/letsencrypt.json
      email: ops@example.com
      hosts: [localhost]
      directoryurl: https://127.0.0.1:${acmePort}/dir
middleware:
  registry:
    - name: downstream
      options:
        upstreams: [${origin.url}]
`,
    );
  }, 300_000);

  afterAll(async () => {
    cache?.kill('SIGKILL');
    pebble?.kill('SIGKILL');
    await origin?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  function startCache(): ChildProcess {
    cacheOutput = '';
    const child = spawn(process.execPath, [bin, configFile], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(directory, 'certs', 'ca.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (cacheOutput += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (cacheOutput += chunk.toString()));
    return child;
  }

  it('obtains a certificate with TLS-ALPN-01 on its own port, serves HTTPS with it, and reuses it after a restart', async () => {
    cache = startCache();
    await waitFor(cache, () => cacheOutput, /msg="certificate obtained"/, 60_000);
    const root = (
      await httpsGet(`https://127.0.0.1:${managementPort}/roots/0`, pebbleCa)
    ).body.toString();
    const intermediate = (
      await httpsGet(`https://127.0.0.1:${managementPort}/intermediates/0`, pebbleCa)
    ).body.toString();
    const served = await httpsGet(`https://localhost:${cachePort}/v2/`, root + intermediate);
    expect(served.status).toBe(200);
    const stored = JSON.parse(await readFile(join(directory, 'letsencrypt.json'), 'utf8')) as {
      certificate: { hosts: string[] };
    };
    expect(stored.certificate.hosts).toEqual(['localhost']);

    const stopped = new Promise((resolve) => cache?.once('exit', resolve));
    cache.kill('SIGTERM');
    await stopped;
    cache = startCache();
    await waitFor(cache, () => cacheOutput, /msg=listening/, 15_000);
    expect((await httpsGet(`https://localhost:${cachePort}/v2/`, root + intermediate)).status).toBe(
      200,
    );
    expect(cacheOutput).not.toContain('certificate obtained');
  });
});
