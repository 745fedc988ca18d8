import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, generateCertificates, httpsGet } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(appRoot, 'bin', 'dtr-api.mjs');

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/** Starts `dtr-api --config file` and waits for its "listening" log line. */
function startProcess(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dtr-api did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((entry) => entry.includes('"msg":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve({
          child,
          port: Number((JSON.parse(line) as { addr: string }).addr.split(':').at(-1)),
          output: () => output,
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dtr-api exited with ${code}:\n${output}`));
    });
  });
}

function run(
  args: string[],
  env: Record<string, string> = {},
  program = bin,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [program, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** The server's Node options and environment, which its launcher applies. */
function serverRuntime(): { nodeOptions: string[]; env: Record<string, string> } {
  return JSON.parse(readFileSync(join(appRoot, 'bin', 'server-runtime.json'), 'utf8')) as {
    nodeOptions: string[];
    env: Record<string, string>;
  };
}

describe('dtr-api command', () => {
  let directory: string;
  let configFile: string;
  let started: Started | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'dtr-cli-'));
    generateCertificates(join(directory, 'certs'), 'dtr=127.0.0.1,localhost');
    configFile = join(directory, 'config.yml');
    await writeFile(
      configFile,
      `log: { formatter: json }
storage: { filesystem: { rootdirectory: ${directory}/blobs } }
http:
  addr: 127.0.0.1:0
  tls: { certificate: ${directory}/certs/dtr.pem, key: ${directory}/certs/dtr-key.pem }
database: { path: ${directory}/dtr.sqlite }
auth: { keyfile: ${directory}/token-key.pem }
ca: { certificate: ${directory}/certs/ca.pem }
`,
    );
  });

  afterAll(async () => {
    started?.child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
  });

  it('serves HTTPS with its CA at /ca, and stops gracefully on SIGTERM', async () => {
    started = await startProcess(['--config', configFile], {
      DTR_API_ADMIN_PASSWORD: 'first-admin-password',
    });
    const ca = await readFile(join(directory, 'certs', 'ca.pem'));
    const served = await httpsGet(`https://127.0.0.1:${started.port}/ca`, ca);
    expect(served.status).toBe(200);
    expect(served.body.toString()).toBe(ca.toString());
    expect((await httpsGet(`https://localhost:${started.port}/v2/`, ca)).status).toBe(401);
    // Started without its Node options, the launcher runs the server as its child, with them.
    const servers = execFileSync('ps', ['-o', 'args=', '--ppid', String(started.child.pid)], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((line) => line.includes('dtr-api.mjs'));
    expect(servers).toHaveLength(1);
    for (const option of serverRuntime().nodeOptions) expect(servers[0]).toContain(option);
    const exited = new Promise<number | null>((resolve) => started?.child.once('exit', resolve));
    started.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(started.output()).toContain('"msg":"stopped"');
    started = undefined;
  });

  it('starts again on the same data without the admin password', async () => {
    started = await startProcess([configFile]);
    const exited = new Promise<number | null>((resolve) => started?.child.once('exit', resolve));
    started.child.kill('SIGINT');
    expect(await exited).toBe(0);
    started = undefined;
  });

  it('answers /health, and its container health check follows it', async () => {
    const port = await freePort();
    const fixedPortConfig = join(directory, 'fixed-port.yml');
    await writeFile(
      fixedPortConfig,
      (await readFile(configFile, 'utf8')).replace('addr: 127.0.0.1:0', `addr: 127.0.0.1:${port}`),
    );
    const healthcheck = join(appRoot, 'bin', 'dtr-api-healthcheck.mjs');
    started = await startProcess([fixedPortConfig]);
    const ca = await readFile(join(directory, 'certs', 'ca.pem'));
    const health = await httpsGet(`https://127.0.0.1:${port}/health`, ca);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: 'ok' });
    expect((await run([fixedPortConfig], {}, healthcheck)).code).toBe(0);
    const unauthorized = await httpsGet(`https://127.0.0.1:${port}/v2/_catalog?n=5`, ca);
    expect(unauthorized.status).toBe(401);
    // The access log: one line per request, the path without its query.
    const requests = () =>
      started
        ?.output()
        .split('\n')
        .filter((line) => line.includes('"msg":"request"'))
        .map((line) => JSON.parse(line) as { method: string; path: string; status: number });
    await expect.poll(() => requests()?.length).toBeGreaterThanOrEqual(3);
    expect(requests()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'GET', path: '/health', status: 200 }),
        expect.objectContaining({ method: 'GET', path: '/v2/_catalog', status: 401 }),
      ]),
    );
    expect(started.output()).not.toContain('n=5');
    const exited = new Promise<number | null>((resolve) => started?.child.once('exit', resolve));
    started.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    started = undefined;
    expect((await run([fixedPortConfig], {}, healthcheck)).code).toBe(1);
  });

  it('serves metrics and health on http.debug, pulls only in read-only mode, and warns about what it ignores', async () => {
    const debugPort = await freePort();
    const debugConfig = join(directory, 'debug.yml');
    await writeFile(
      debugConfig,
      (await readFile(configFile, 'utf8'))
        .replace(
          'storage: {',
          'storage: { maintenance: { readonly: { enabled: true }, uploadpurging: { enabled: true } },',
        )
        .replace(
          'http:\n',
          `http:\n  debug: { addr: 127.0.0.1:${debugPort}, prometheus: { enabled: true, path: /prom } }\n`,
        ),
    );
    started = await startProcess([debugConfig]);
    const ca = await readFile(join(directory, 'certs', 'ca.pem'));
    const debug = `http://127.0.0.1:${debugPort}`;
    const metrics = await fetch(`${debug}/prom`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE');
    expect((await fetch(`${debug}/debug/health`)).status).toBe(200);
    expect((await fetch(`${debug}/metrics`)).status).toBe(404);
    expect((await httpsGet(`https://127.0.0.1:${started.port}/metrics`, ca)).status).not.toBe(200);
    const basic = `Basic ${Buffer.from('admin:first-admin-password').toString('base64')}`;
    const send = (method: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpsRequest(
          `https://127.0.0.1:${started?.port}${path}`,
          { method, ca, headers: { Authorization: basic } },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        request.on('error', reject);
        request.end();
      });
    const push = await send('POST', '/v2/admin/app/blobs/uploads/');
    expect(push.status).toBe(405);
    expect(JSON.parse(push.body)).toMatchObject({ errors: [{ code: 'UNSUPPORTED' }] });
    const deletion = await send('DELETE', '/api/v0/repositories/admin/app');
    expect(deletion.status).toBe(405);
    expect((await send('GET', '/api/v0/repositories/admin')).status).toBe(200);
    const warnings = started
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"configuration key has no effect here"'))
      .map((line) => (JSON.parse(line) as { key: string }).key);
    expect(warnings).toEqual(['storage.maintenance.uploadpurging']);
    const exited = new Promise<number | null>((resolve) => started?.child.once('exit', resolve));
    started.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    started = undefined;
  });

  it('refuses to start with a bad configuration, naming the key', async () => {
    const result = await run(['--config', configFile], {
      DTR_API_HTTP_ADDR: 'nowhere',
      DTR_API_AUTH_TOKENTTL: '5 minutes',
    });
    expect(result.code).toBe(2);
    expect(result.output).toContain(
      'http.addr (from DTR_API_HTTP_ADDR): "nowhere" is not a listen address',
    );
    expect(result.output).toContain(
      'auth.tokenttl (from DTR_API_AUTH_TOKENTTL): "5 minutes" is not a duration',
    );
  });

  it('refuses to start without a first administrator', async () => {
    const fresh = join(directory, 'fresh.yml');
    await writeFile(
      fresh,
      (await readFile(configFile, 'utf8')).replace(
        `${directory}/dtr.sqlite`,
        `${directory}/fresh.sqlite`,
      ),
    );
    const result = await run([fresh]);
    expect(result.code).toBe(1);
    expect(result.output).toContain('set admin.password (or DTR_API_ADMIN_PASSWORD)');
  });

  it('starts the container image server as its launcher would (server-runtime.json)', async () => {
    const dockerfile = await readFile(join(appRoot, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual([
      'node',
      ...serverRuntime().nodeOptions,
      '/app/apps/dtr-api/bin/dtr-api.mjs',
    ]);
    const env = [...dockerfile.matchAll(/^ENV (.*)$/gm)].flatMap((line) =>
      (line[1] ?? '').split(' '),
    );
    for (const [name, value] of Object.entries(serverRuntime().env))
      expect(env).toContain(`${name}=${value}`);
  });

  it('prints its usage for wrong arguments', async () => {
    const result = await run(['--bogus']);
    expect(result.code).toBe(2);
    expect(result.output).toContain('usage: dtr-api --config <config.yml>');
  });
});
