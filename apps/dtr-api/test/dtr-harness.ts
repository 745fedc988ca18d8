import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Digest } from '@dtr-cache/registry-protocol';
import { createApp } from '../src/app';
import { buildServices, type DtrRuntime } from '../src/build-services';
import { loadDtrConfig } from '../src/dtr-config';
import { silentLogger } from '@dtr-cache/logging';

export const ADMIN = { username: 'admin', password: 'admin-password' };

/** Request options for a JSON body. */
export function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** A DTR served on a loopback port, with its own data directory. */
export interface RunningDtr {
  url: string;
  services: DtrRuntime;
  directory: string;
  close(): Promise<void>;
  /** Calls DTR with `authorization` (a header value) if given. */
  fetch(path: string, init?: RequestInit & { authorization?: string }): Promise<Response>;
  /** A bearer token from the token service for `scopes`, authenticated by `authorization`. */
  token(scopes: string[], authorization?: string): Promise<string>;
  /** Creates a user through the API (as admin) and returns its Basic header. */
  createUser(name: string, password?: string): Promise<string>;
  /** Pushes a blob monolithically with `authorization` (Bearer for the scope is obtained). */
  pushBlob(repository: string, content: Buffer, authorization: string): Promise<Digest>;
}

export async function startDtr(extraYaml = ''): Promise<RunningDtr> {
  const directory = await mkdtemp(join(tmpdir(), 'dtr-'));
  const config = loadDtrConfig({
    env: {},
    text: `
storage:
  delete: { enabled: true }
  filesystem: { rootdirectory: ${directory}/blobs }
database: { path: ${directory}/dtr.sqlite }
auth: { keyfile: ${directory}/token-key.pem }
admin: { password: ${ADMIN.password} }
${extraYaml}`,
  });
  const services = await buildServices(config, silentLogger);
  const server: Server = createServer(createApp(services).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const call = (path: string, init: RequestInit & { authorization?: string } = {}) => {
    const { authorization, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (authorization) headers.set('Authorization', authorization);
    return fetch(`${url}${path}`, { ...rest, headers });
  };
  const token = async (scopes: string[], authorization?: string) => {
    const query = new URLSearchParams([
      ['service', 'dtr'],
      ...scopes.map((scope) => ['scope', scope] as [string, string]),
    ]);
    const response = await call(`/auth/token?${query}`, authorization ? { authorization } : {});
    if (response.status !== 200)
      throw new Error(`token request failed: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  };
  return {
    url,
    services,
    directory,
    fetch: call,
    token,
    async createUser(name, password = `${name}-password`) {
      const response = await call('/api/v0/accounts', {
        method: 'POST',
        authorization: basic(ADMIN.username, ADMIN.password),
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, type: 'user', password }),
      });
      if (response.status !== 201)
        throw new Error(`creating ${name} failed: ${response.status} ${await response.text()}`);
      return basic(name, password);
    },
    async pushBlob(repository, content, authorization) {
      const bearer = `Bearer ${await token([`repository:${repository}:pull,push`], authorization)}`;
      const digest = Digest.of(content);
      const response = await call(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        authorization: bearer,
        body: content,
      });
      if (response.status !== 201)
        throw new Error(`blob push failed: ${response.status} ${await response.text()}`);
      return digest;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
