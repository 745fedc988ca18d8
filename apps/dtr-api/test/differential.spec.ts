import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Digest, MediaTypes } from '@dtr-cache/registry-protocol';
import { freePort } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDtr, startDtr } from './dtr-harness';

const run = promisify(execFile);
const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const repository = 'alice/app';

/** One malformed or unknown-object request, sent to both registries. */
interface Case {
  name: string;
  method: string;
  /** Path below `/v2/`, with `{repo}`, `{blob}` (a stored blob) and `{upload}` (a fresh upload) filled in. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * Where dtr-api answers differently on purpose, the answer it gives and why. Everything else
   * must match the reference registry's status and error code exactly.
   */
  deliberate?: { status: number; code: string; why: string };
}

const unknownDigest = Digest.of('never stored anywhere');
const shortDigest = `sha256:${'a'.repeat(63)}`;
const manifestMissingBlob = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaTypes.dockerManifest,
  config: {
    mediaType: MediaTypes.dockerContainerConfig,
    digest: unknownDigest.toString(),
    size: 2,
  },
  layers: [],
});

const cases: Case[] = [
  { name: 'unknown blob', method: 'GET', path: `{repo}/blobs/${unknownDigest}` },
  { name: 'unknown blob, HEAD', method: 'HEAD', path: `{repo}/blobs/${unknownDigest}` },
  { name: 'digest of the wrong length', method: 'GET', path: `{repo}/blobs/${shortDigest}` },
  { name: 'unknown manifest tag', method: 'GET', path: '{repo}/manifests/nope' },
  { name: 'unknown manifest digest', method: 'GET', path: `{repo}/manifests/${unknownDigest}` },
  {
    name: 'manifest that is not JSON',
    method: 'PUT',
    path: '{repo}/manifests/bad',
    headers: { 'Content-Type': MediaTypes.dockerManifest },
    body: 'not json',
  },
  {
    name: 'manifest referencing an unknown blob',
    method: 'PUT',
    path: '{repo}/manifests/missing',
    headers: { 'Content-Type': MediaTypes.dockerManifest },
    body: manifestMissingBlob,
  },
  {
    name: 'manifest digest not matching its reference',
    method: 'PUT',
    path: `{repo}/manifests/${unknownDigest}`,
    headers: { 'Content-Type': MediaTypes.dockerManifest },
    body: manifestMissingBlob,
  },
  {
    name: 'delete of an unknown manifest',
    method: 'DELETE',
    path: `{repo}/manifests/${unknownDigest}`,
  },
  { name: 'delete of an unknown blob', method: 'DELETE', path: `{repo}/blobs/${unknownDigest}` },
  ...[
    ['status of an unknown upload', 'GET', undefined],
    ['chunk for an unknown upload', 'PATCH', 'x'],
    ['cancel of an unknown upload', 'DELETE', undefined],
    ['upload id that is no UUID', 'GET', undefined],
  ].map(([name, method, body]) => ({
    name: name as string,
    method: method as string,
    path: `{repo}/blobs/uploads/${name === 'upload id that is no UUID' ? 'doesnotexist' : '3e0e1a4c-5b9f-4c0e-9d3a-2f1b6c7d8e9f'}`,
    ...(body === undefined ? {} : { body }),
    deliberate: {
      status: 404,
      code: 'BLOB_UPLOAD_UNKNOWN',
      why: 'distribution answers BLOB_UPLOAD_INVALID to any upload URL without its signed _state parameter; sessions here are server-side, so an unknown id gets the spec’s BLOB_UPLOAD_UNKNOWN (both 404)',
    },
  })),
  {
    name: 'monolithic upload with a wrong digest',
    method: 'POST',
    path: `{repo}/blobs/uploads/?digest=${unknownDigest}`,
    body: 'actual bytes',
    deliberate: {
      status: 400,
      code: 'DIGEST_INVALID',
      why: 'single-POST monolithic uploads (distribution spec) are supported; distribution 2.8 ignores ?digest= and opens a session (202)',
    },
  },
  {
    name: 'monolithic upload with a malformed digest',
    method: 'POST',
    path: '{repo}/blobs/uploads/?digest=sha256:zz',
    body: 'bytes',
    deliberate: {
      status: 400,
      code: 'DIGEST_INVALID',
      why: 'as above: the digest of a single-POST upload is checked',
    },
  },
  { name: 'finishing an upload without digest', method: 'PUT', path: '{upload}' },
  {
    name: 'finishing an upload with a wrong digest',
    method: 'PUT',
    path: `{upload}?digest=${unknownDigest}`,
    body: 'some bytes',
  },
  {
    name: 'unsatisfiable range',
    method: 'GET',
    path: '{repo}/blobs/{blob}',
    headers: { Range: 'bytes=1000-2000' },
  },
  {
    name: 'upper-case repository name',
    method: 'GET',
    path: `Alice/App/blobs/${unknownDigest}`,
    deliberate: {
      status: 400,
      code: 'NAME_INVALID',
      why: 'a malformed name is named as such; distribution’s router answers a plain-text 404',
    },
  },
  // alice owns the namespace, so she may learn the repository is not there, as the spec says.
  { name: 'unknown repository', method: 'GET', path: 'alice/absent/tags/list' },
];

interface Answer {
  status: number;
  code: string | undefined;
}

async function answerOf(response: Response): Promise<Answer> {
  // distribution declares a Content-Length on some answers (416) and sends no body: read leniently.
  const text = await response.text().catch(() => '');
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    code = undefined;
  }
  return { status: response.status, code };
}

describe('differential check against the reference registry (docker-registry)', () => {
  let directory: string;
  let reference: ChildProcess | undefined;
  let referenceUrl: string;
  let dtr: RunningDtr;
  let dtrAuthorization: string;
  const storedBlob = Buffer.from('a stored blob of 33 bytes total.');

  beforeAll(async () => {
    await run(
      process.execPath,
      [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'docker-registry'],
      { timeout: 280_000 },
    );
    directory = await mkdtemp(join(tmpdir(), 'differential-'));
    const port = await freePort();
    await writeFile(
      join(directory, 'config.yml'),
      `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${directory}/reference }, delete: { enabled: true } }\nhttp: { addr: "127.0.0.1:${port}" }\n`,
    );
    reference = spawn('docker-registry', ['serve', join(directory, 'config.yml')], {
      stdio: 'ignore',
    });
    referenceUrl = `http://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt += 1) {
      try {
        if ((await fetch(`${referenceUrl}/v2/`)).status === 200) break;
      } catch {
        if (attempt > 100) throw new Error('docker-registry did not start');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    dtr = await startDtr();
    const alice = await dtr.createUser('alice');
    await dtr.pushBlob(repository, storedBlob, alice);
    await dtr.fetch('/api/v0/repositories/alice/absent', { authorization: alice });
    dtrAuthorization = `Bearer ${await dtr.token([`repository:${repository}:pull,push,delete`, 'repository:alice/absent:pull'], alice)}`;
    const started = await fetch(`${referenceUrl}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
    });
    const upload = new URL(started.headers.get('location') as string, referenceUrl);
    upload.searchParams.set('digest', Digest.of(storedBlob).toString());
    const pushed = await fetch(upload, { method: 'PUT', body: storedBlob });
    expect(pushed.status).toBe(201);
  }, 300_000);

  afterAll(async () => {
    reference?.kill('SIGKILL');
    await dtr?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  async function send(
    base: string,
    authorization: string | undefined,
    testCase: Case,
  ): Promise<Answer> {
    let path = testCase.path
      .replace('{repo}', repository)
      .replace('{blob}', Digest.of(storedBlob).toString());
    const headers: Record<string, string> = {
      ...testCase.headers,
      ...(authorization ? { Authorization: authorization } : {}),
    };
    if (path.startsWith('{upload}')) {
      const started = await fetch(`${base}/v2/${repository}/blobs/uploads/`, {
        method: 'POST',
        headers,
      });
      const location = new URL(started.headers.get('location') as string, base);
      path = `${location.pathname.slice('/v2/'.length)}${path.slice('{upload}'.length)}`;
      if (location.search)
        path = path.includes('?')
          ? `${path}&${location.search.slice(1)}`
          : `${path}${location.search}`;
    }
    const init: RequestInit = { method: testCase.method, headers };
    if (testCase.body !== undefined) init.body = testCase.body;
    return answerOf(await fetch(`${base}/v2/${path}`, init));
  }

  it.each(cases.map((testCase) => [testCase.name, testCase] as const))(
    '%s',
    async (_name, testCase) => {
      const expected = await send(referenceUrl, undefined, testCase);
      const actual = await send(dtr.url, dtrAuthorization, testCase);
      if (testCase.deliberate) {
        expect(actual, testCase.deliberate.why).toEqual({
          status: testCase.deliberate.status,
          code: testCase.deliberate.code,
        });
        expect(expected, 'the reference registry answers differently, as documented').not.toEqual(
          actual,
        );
        return;
      }
      expect(actual.status, `reference answered ${JSON.stringify(expected)}`).toBe(expected.status);
      if (expected.code !== undefined)
        expect(actual.code, `reference answered ${JSON.stringify(expected)}`).toBe(expected.code);
    },
  );
});
