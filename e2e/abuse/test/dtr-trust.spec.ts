/**
 * Who may do what, through the process topology: organization roles, a grant whose user lost
 * access before the cache filled, crafted grant claims (signed with DTR's own key, read from its
 * database: what only a key holder could make), a token of a deleted account, cache registrations
 * aimed at cloud metadata.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { importGrantSigningKey } from '@dtr-cache/registry-protocol';
import { type RunningTopology, startTopology, type User } from '@dtr-cache/test-support';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbuseReport } from './abuse-report';
import { fetchDigest } from './probes';
import { RegistryClient } from './registry-client';

const report = new AbuseReport('dtr-trust');
let topology: RunningTopology;
let client: RegistryClient;

beforeAll(async () => {
  topology = await startTopology('127.0.1.30');
  client = new RegistryClient(topology);
});
afterAll(async () => {
  await report.finish();
  await topology?.dispose();
});

/** A user who pulls through los-angeles (filled through san-francisco from DTR). */
async function cacheUser(name: string): Promise<User> {
  const user = await client.createUser(name);
  const chosen = await client.api('PATCH', `/accounts/${name}/settings`, user, {
    contentCache: 'los-angeles',
  });
  if (chosen.status !== 200) throw new Error(`settings of ${name}: ${chosen.status}`);
  return user;
}

describe('who may do what', () => {
  it('a member adds a stranger and removes the owner', async () => {
    const owner = await client.createUser('org-owner');
    const member = await client.createUser('org-member');
    await client.createUser('stranger');
    await client.api('POST', '/accounts', client.admin, { name: 'corp', type: 'organization' });
    await client.api('PUT', '/accounts/corp/members/org-owner', client.admin, { role: 'owner' });
    await client.api('PUT', '/accounts/corp/members/org-member', owner);
    const added = await client.api('PUT', '/accounts/corp/members/stranger', member);
    const removed = await client.api('DELETE', '/accounts/corp/members/org-owner', member);
    const lastOwner = await client.api('DELETE', '/accounts/corp/members/org-owner', owner);
    const ok = report.record({
      attack: 'an organization member changes membership',
      expected: '403 for members; the last owner cannot leave (409)',
      observed: `add stranger ${added.status}, remove owner ${removed.status}, last owner leaves ${lastOwner.status}`,
      passed: added.status === 403 && removed.status === 403 && lastOwner.status === 409,
    });
    expect(ok).toBe(true);
  });

  it('a grant used after its user lost access (removed from the organization)', async () => {
    const insider = await cacheUser('insider');
    await client.api('POST', '/accounts', client.admin, { name: 'secret', type: 'organization' });
    await client.api('PUT', '/accounts/secret/members/insider', client.admin);
    const digest = await client.pushBlob(insider, 'secret/app', randomBytes(256 * 1024));
    const url = await client.blobUrl(insider, 'secret/app', digest);
    await client.api('DELETE', '/accounts/secret/members/insider', client.admin);
    const pulled = await fetchDigest(topology, url);
    const ok = report.record({
      attack: 'grant of a user removed from the org, on a miss',
      expected: 'DTR refuses the fill (401 revoked); no byte of the blob',
      observed: `${pulled.status}, ${pulled.bytes} bytes, ${pulled.text.slice(0, 100)}`,
      passed: pulled.status === 401 && pulled.text.includes('revoked'),
    });
    expect(ok).toBe(true);
  });

  it('grants with crafted claims, signed with DTR’s own key', async () => {
    const user = await cacheUser('crafted');
    const digest = await client.pushBlob(user, 'crafted/app', randomBytes(1024));
    const good = await client.blobUrl(user, 'crafted/app', digest);
    const database = new BetterSqlite3(join(topology.data, 'dtr', 'dtr.sqlite'), {
      readonly: true,
    });
    const row = database
      .prepare('SELECT private_key_pem FROM grant_keys WHERE retired_at IS NULL')
      .get() as { private_key_pem: string };
    const account = database.prepare("SELECT id FROM accounts WHERE name = 'crafted'").get() as {
      id: number;
    };
    database.close();
    const key = await importGrantSigningKey(row.private_key_pem);
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({
        repository: 'crafted/app',
        digest,
        iss: 'dtr',
        aud: 'dtr-blob-grant',
        sub: 'crafted',
        uid: account.id,
        gen: 1,
        iat: now,
        exp: now + 60,
        ...claims,
      })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.keyId, typ: 'dtr-blob-grant+jwt' })
        .sign(key.privateKey);
    const hops = {
      'los-angeles': topology.endpoints.caches['los-angeles']?.url,
      'san-francisco': topology.endpoints.caches['san-francisco']?.url,
      DTR: client.dtr,
    };
    const cases: Array<[string, Record<string, unknown>]> = [
      ['iat=exp=1e308', { iat: 1e308, exp: 1e308 }],
      ['iat ten years ahead', { iat: now + 3e8, exp: now + 3e8 + 60 }],
      ['another iss', { iss: 'evil' }],
      ['no aud', { aud: undefined }],
    ];
    const observed: string[] = [];
    const control = await fetchDigest(topology, good);
    for (const [label, claims] of cases) {
      const grant = await sign(claims);
      for (const [hop, base] of Object.entries(hops)) {
        const answer = await fetchDigest(
          topology,
          `${base}/v2/crafted/app/blobs/${digest}?grant=${grant}`,
        );
        observed.push(`${label} at ${hop}: ${answer.status}`);
      }
    }
    const ok = report.record({
      attack: 'crafted grant claims at each hop',
      expected: '401 at los-angeles, san-francisco and DTR for each',
      observed: observed.join('; '),
      passed: control.status === 200 && observed.every((entry) => entry.endsWith(': 401')),
    });
    expect(ok).toBe(true);
  });

  it('a token of a deleted account, used by a new account of the same name', async () => {
    const first = await client.createUser('reborn', 'reborn-password-1');
    await client.pushBlob(first, 'reborn/app', randomBytes(1024));
    const token = await client.token(first, ['repository:reborn/app:pull,push']);
    await client.api('DELETE', '/accounts/reborn', client.admin);
    const second = await client.createUser('reborn', 'reborn-password-2');
    const digest = await client.pushBlob(second, 'reborn/app', randomBytes(2048));
    const old = await client.call(`/v2/reborn/app/blobs/${digest}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const ok = report.record({
      attack: 'token of a deleted account, name taken again',
      expected: '401 invalid_token',
      observed: `${old.status} ${String(old.headers['www-authenticate'] ?? '').slice(0, 60)}`,
      passed:
        old.status === 401 && String(old.headers['www-authenticate']).includes('invalid_token'),
    });
    expect(ok).toBe(true);
  });

  it('content caches registered at cloud metadata addresses', async () => {
    const statuses: string[] = [];
    for (const host of [
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00:ec2::254]',
      'http://metadata.google.internal',
      'http://[::ffff:169.254.169.254]',
    ]) {
      const answer = await client.api('POST', '/content_caches', client.admin, {
        name: `meta${statuses.length}`,
        host,
      });
      statuses.push(`${host} ${answer.status}`);
    }
    const closed = await client.api('POST', '/content_caches', client.admin, {
      name: 'closed-port',
      host: 'http://127.0.0.1:22',
    });
    const id = (JSON.parse(closed.text) as { id: number }).id;
    let shown = '';
    for (let attempt = 0; attempt < 30 && !shown.includes('"unhealthy"'); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      shown = (await client.api('GET', `/content_caches/${id}`, client.admin)).text;
    }
    const ok = report.record({
      attack: 'cache hosts at metadata addresses; a closed port',
      expected: '400 for each; health shows a coarse reason only',
      observed: `${statuses.join(', ')}; health: ${/"health":\{[^}]*\}/.exec(shown)?.[0] ?? shown}`,
      passed:
        statuses.every((status) => status.endsWith(' 400')) &&
        shown.includes('"error":"unreachable"') &&
        !shown.includes('ECONNREFUSED'),
    });
    expect(ok).toBe(true);
  });
});
