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
import { createTestDatabase, type TestDatabase } from './test-database';

export const ADMIN = { username: 'admin', password: 'admin-password' };

/** Request options for a JSON body. */
export function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** A web UI session: its cookie header and its CSRF token. */
export interface BrowserSession {
  cookie: string;
  csrfToken: string;
}

/** Cookie `name`'s value among a response's Set-Cookie headers. */
function cookieOf(response: Response, name: string): string | undefined {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';');
    const [key, value] = (pair ?? '').split('=');
    if (key === name && value) return value;
  }
  return undefined;
}

/** A DTR served on a loopback port, with its own data directory. */
export interface RunningDtr {
  readonly url: string;
  /** Its database (SQLite, or PostgreSQL in the project that runs the suites there). */
  readonly database: TestDatabase;
  readonly services: DtrRuntime;
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
  /** Stops DTR and starts it again on the same data (at a new address: `url` changes). */
  restart(): Promise<void>;
  /** Signs in through the web UI's form, as a browser does; returns the session. */
  signIn(username: string, password: string): Promise<BrowserSession>;
}

/**
 * Starts DTR with a configuration of its own; `extraYaml` adds sections (not `storage`,
 * `database`, `auth` or `admin`, which the harness sets: change their keys through `env`, e.g.
 * `DTR_API_AUTH_THROTTLE_FREEATTEMPTS`). Its database is a new one on the test project's engine,
 * unless `options.database` names one.
 */
export async function startDtr(
  extraYaml = '',
  env: Record<string, string> = {},
  options: { database?: TestDatabase } = {},
): Promise<RunningDtr> {
  const directory = await mkdtemp(join(tmpdir(), 'dtr-'));
  const database = options.database ?? (await createTestDatabase(directory));
  const config = loadDtrConfig({
    env,
    text: `
storage:
  delete: { enabled: true }
  filesystem: { rootdirectory: ${directory}/blobs }
${database.yaml}
auth: { keyfile: ${directory}/token-key.pem }
admin: { password: ${ADMIN.password} }
${extraYaml}`,
  });
  let services = await buildServices(config, silentLogger);
  let server: Server = createServer(createApp(services).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await services.close();
  };

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
    get url() {
      return url;
    },
    get services() {
      return services;
    },
    directory,
    database,
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
    async signIn(username, password) {
      const form = await call('/login');
      const signInCsrf = cookieOf(form, 'dtr_signin_csrf');
      const field = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
      if (!signInCsrf || !field) throw new Error('the sign-in form has no CSRF token');
      const posted = await call('/login', {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Cookie: `dtr_signin_csrf=${signInCsrf}`,
        },
        body: new URLSearchParams({ username, password, _csrf: field }).toString(),
      });
      const session = cookieOf(posted, 'dtr_session');
      if (posted.status !== 302 || !session)
        throw new Error(`sign-in failed: ${posted.status} ${await posted.text()}`);
      const cookie = `dtr_session=${session}`;
      const page = await call(`/users/${username}/settings`, { headers: { Cookie: cookie } });
      const csrfToken = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
      if (!csrfToken) throw new Error('the settings page has no CSRF token');
      return { cookie, csrfToken };
    },
    async restart() {
      await stop();
      services = await buildServices(config, silentLogger);
      server = createServer(createApp(services).callback());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      await stop();
      await database.drop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
