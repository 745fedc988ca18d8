import { createHash } from 'node:crypto';
import { basic, type RunningTopology, type User } from '@dtr-cache/test-support';
import { type Fetched, fetchDigest, type FetchOptions } from './probes';

/** A registry client for the suite: DTR's API and token service, pushes, and blob redirects. */
export class RegistryClient {
  constructor(private readonly topology: RunningTopology) {}

  get dtr(): string {
    return this.topology.endpoints.dtr.url;
  }

  get admin(): User {
    return this.topology.endpoints.users.admin;
  }

  /** A request to DTR (`path` absolute on DTR). */
  call(path: string, options: FetchOptions = {}): Promise<Fetched> {
    return fetchDigest(this.topology, `${this.dtr}${path}`, options);
  }

  /** A JSON API call as `user`. */
  api(method: string, path: string, user: User, body?: unknown): Promise<Fetched> {
    return this.call(`/api/v0${path}`, {
      method,
      headers: {
        Authorization: basic(user),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  /** Creates a user (as the administrator); 409 (exists) counts as done. */
  async createUser(name: string, password = `${name}-password-1`): Promise<User> {
    const answer = await this.api('POST', '/accounts', this.admin, {
      name,
      type: 'user',
      password,
    });
    if (answer.status !== 201 && answer.status !== 409)
      throw new Error(`creating ${name}: ${answer.status} ${answer.text}`);
    return { username: name, password };
  }

  /** A bearer token of `user` for `scopes`. */
  async token(user: User, scopes: string[]): Promise<string> {
    const query = new URLSearchParams([
      ['service', 'dtr'],
      ...scopes.map((scope): [string, string] => ['scope', scope]),
    ]);
    const answer = await this.call(`/auth/token?${query}`, {
      headers: { Authorization: basic(user) },
    });
    if (answer.status !== 200) throw new Error(`token: ${answer.status} ${answer.text}`);
    return (JSON.parse(answer.text) as { token: string }).token;
  }

  /** Pushes `content` to `repository` in one POST as `user`; returns the digest. */
  async pushBlob(user: User, repository: string, content: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const bearer = await this.token(user, [`repository:${repository}:pull,push`]);
    const answer = await this.call(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}` },
      body: content,
    });
    if (answer.status !== 201) throw new Error(`push: ${answer.status} ${answer.text}`);
    return digest;
  }

  /**
   * Where DTR sends `user` for a blob: the cache URL with a fresh grant (a 307), or DTR's own URL
   * with the token when it serves the blob itself.
   */
  async blobUrl(user: User, repository: string, digest: string): Promise<string> {
    const bearer = await this.token(user, [`repository:${repository}:pull`]);
    const answer = await this.call(`/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
      headers: { Authorization: `Bearer ${bearer}` },
    });
    const location = answer.headers.location;
    if (answer.status === 307 && typeof location === 'string') return location;
    throw new Error(`no redirect for ${repository}@${digest}: ${answer.status}`);
  }

  /**
   * Pulls a blob as a client does: asks DTR, follows its redirect to the cache (without DTR's
   * token), or takes the body from DTR itself when DTR serves it (no healthy cache for the user).
   */
  async pullBlob(
    user: User,
    repository: string,
    digest: string,
    options: FetchOptions = {},
  ): Promise<{ pulled: Fetched; from: 'cache' | 'dtr' }> {
    const bearer = await this.token(user, [`repository:${repository}:pull`]);
    const answer = await this.call(`/v2/${repository}/blobs/${digest}`, {
      ...options,
      headers: { Authorization: `Bearer ${bearer}` },
    });
    const location = answer.headers.location;
    if (answer.status === 307 && typeof location === 'string')
      return { pulled: await fetchDigest(this.topology, location, options), from: 'cache' };
    return { pulled: answer, from: 'dtr' };
  }
}
