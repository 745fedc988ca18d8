/**
 * Attacks on DTR through the process topology (`npm start`): one account against the others, a
 * signed-in browser's cookie, password guessing, access removed while grants are out, crafted
 * grants and tokens, cache registrations aimed inside the network, a push past a quota. Each row
 * of the report says what must happen and what did; an innocent user is served throughout.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { basic, type RunningTopology, startTopology } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbuseReport } from './abuse-report';
import { type Bystander, recordBystander, startInnocentBystander } from './bystander';
import { cpuSecondsOf, descriptorsOf, fetchDigest, pidOf } from './probes';
import { RegistryClient } from './registry-client';

const report = new AbuseReport('dtr');
let topology: RunningTopology;
let client: RegistryClient;
let bystander: Bystander;

beforeAll(async () => {
  topology = await startTopology('127.0.1.10');
  client = new RegistryClient(topology);
  bystander = await startInnocentBystander(client);
});

afterAll(async () => {
  await recordBystander(bystander, report, 'attack');
  await report.finish();
  await topology?.dispose();
});

describe('attacks on DTR', () => {
  it('1000 upload POSTs from one account', async () => {
    const attacker = await client.createUser('flooder');
    const token = await client.token(attacker, ['repository:flooder/app:pull,push']);
    const pid = await pidOf(topology, 'dtr');
    const storage = join(topology.data, 'dtr', 'blobs');
    const before = await descriptorsOf(pid, storage);
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 10; batch += 1) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () =>
          client.call('/v2/flooder/app/blobs/uploads/', {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}` },
          }),
        ),
      );
      for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const after = await descriptorsOf(pid, storage);
    const accepted = statuses.get(202) ?? 0;
    const refused = statuses.get(429) ?? 0;
    const ok = report.record({
      attack: '1000 upload POSTs from one account',
      expected: '100 sessions (the cap), 900 x 429; no file held open per session',
      observed: `${accepted} x 202, ${refused} x 429; DTR descriptors ${before.all} -> ${after.all}, on storage files ${before.files} -> ${after.files}`,
      passed: accepted === 100 && refused === 900 && after.files <= before.files + 2,
    });
    expect(ok).toBe(true);
  });

  it('100 wrong passwords for one account from one address', async () => {
    const victim = await client.createUser('victim', 'victim-password-1');
    const pid = await pidOf(topology, 'dtr');
    const cpuBefore = await cpuSecondsOf(pid);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const answer = await client.call('/api/v0/accounts/victim', {
        headers: { Authorization: basic({ username: 'victim', password: `guess-${attempt}` }) },
        from: '127.0.2.1',
      });
      statuses.push(answer.status);
    }
    const held = statuses.filter((status) => status === 429).length;
    const cpu = (await cpuSecondsOf(pid)) - cpuBefore;
    // The owner, elsewhere, after the attacker's last failure: at most the longest backoff (5 min)
    // would apply; an address the owner used before is not held back at all.
    const owner = await client.call('/api/v0/accounts/victim', {
      headers: { Authorization: basic(victim) },
      from: '127.0.2.2',
    });
    const ok = report.record({
      attack: '100 wrong passwords, one account, one address',
      expected: '5 checked (401), 95 x 429 before any hash (DTR CPU < 2 s)',
      observed: `${statuses.filter((s) => s === 401).length} x 401, ${held} x 429; DTR CPU ${cpu.toFixed(2)} s; the owner from a new address meanwhile: ${owner.status}`,
      passed: held >= 94 && statuses.slice(0, 5).every((status) => status === 401) && cpu < 2,
    });
    expect(ok).toBe(true);
  });

  it('60 bad Basic logins at once from 60 addresses, while a token user works', async () => {
    const worker = await client.createUser('worker');
    const token = await client.token(worker, []);
    const timeCall = async () => {
      const started = performance.now();
      const answer = await client.call('/api/v0/accounts/worker', {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (answer.status !== 200) throw new Error(`worker's call: ${answer.status}`);
      return performance.now() - started;
    };
    const baseline: number[] = [];
    for (let index = 0; index < 5; index += 1) baseline.push(await timeCall());
    const flood = Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        client.call(`/api/v0/accounts/nobody${index}`, {
          headers: { Authorization: basic({ username: `nobody${index}`, password: 'x' }) },
          from: `127.0.3.${index + 1}`,
        }),
      ),
    );
    const during: number[] = [];
    for (let index = 0; index < 5; index += 1) during.push(await timeCall());
    const answers = await flood;
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[2] as number;
    const ok = report.record({
      attack: '60 bad Basic logins at once, 60 addresses',
      expected: 'hashes run in bounded slots: a token user is not slowed (< 250 ms)',
      observed: `token call median ${median(baseline).toFixed(0)} ms before, ${median(during).toFixed(0)} ms during; logins: ${answers.filter((a) => a.status === 401).length} x 401, ${answers.filter((a) => a.status === 429).length} x 429`,
      passed: median(during) < 250,
    });
    expect(ok).toBe(true);
  });

  it("a signed-in administrator's cookie, sent cross-site, in every spelling of /api/", async () => {
    const login = await fetchDigest(topology, `${client.dtr}/login`);
    const signInCsrf = /dtr_signin_csrf=([^;]+)/.exec(String(login.headers['set-cookie']))?.[1];
    const field = /name="_csrf" value="([^"]+)"/.exec(login.text)?.[1];
    const posted = await client.call('/login', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Cookie: `dtr_signin_csrf=${signInCsrf}`,
      },
      body: new URLSearchParams({
        username: client.admin.username,
        password: client.admin.password,
        _csrf: field ?? '',
      }).toString(),
    });
    const session = /dtr_session=([^;]+)/.exec(String(posted.headers['set-cookie']))?.[1];
    const paths = [
      '/api/v0/accounts',
      '/API/v0/accounts',
      '//api/v0/accounts',
      '/%61pi/v0/accounts',
    ];
    const statuses: number[] = [];
    for (const [index, path] of paths.entries()) {
      const answer = await client.call(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: `dtr_session=${session}` },
        body: JSON.stringify({ name: `planted${index}`, password: 'long-enough', isAdmin: true }),
      });
      statuses.push(answer.status);
    }
    const plain = await client.call('/api/v0/accounts', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', Authorization: basic(client.admin) },
      body: JSON.stringify({ name: 'planted-plain', password: 'long-enough' }),
    });
    const listed = await client.api('GET', '/accounts', client.admin);
    const ok = report.record({
      attack: 'cookie-only admin POST in 4 spellings; text/plain JSON',
      expected: '403 for each spelling; 415 for text/plain; no account created',
      observed: `${statuses.join(', ')}; text/plain ${plain.status}; planted accounts: ${listed.text.includes('planted')}`,
      passed:
        session !== undefined &&
        statuses.every((status) => status === 403) &&
        plain.status === 415 &&
        !listed.text.includes('planted'),
    });
    expect(ok).toBe(true);
  });

  it('a push past a storage quota', async () => {
    const pusher = await client.createUser('quotaed');
    const set = await client.api('PUT', '/accounts/quotaed/quota', client.admin, {
      limitBytes: 1024 * 1024,
    });
    const small = await client.pushBlob(pusher, 'quotaed/app', randomBytes(600 * 1024));
    const big = randomBytes(600 * 1024);
    const refused = await client.pushBlob(pusher, 'quotaed/app', big).then(
      () => 'accepted',
      (error: Error) => error.message,
    );
    const quota = await client.api('GET', '/accounts/quotaed/quota', pusher);
    const ok = report.record({
      attack: 'a push past the namespace quota (1 MiB)',
      expected: '403 DENIED, nothing kept; usage unchanged',
      observed: `quota set ${set.status}; first push ${small ? 'ok' : '?'}; second: ${refused.slice(0, 80)}; ${quota.text}`,
      passed:
        /push: 403 .*DENIED/.test(refused) &&
        (JSON.parse(quota.text) as { usedBytes: number }).usedBytes === 600 * 1024,
    });
    expect(ok).toBe(true);
  });
});
