import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDtr, startDtr } from './dtr-harness';

// DTR behind a load balancer that ends TLS (nginx in `start:ha`): the replicas see plain HTTP
// from the balancer, which says `X-Forwarded-Proto: https`.
describe('UI cookies behind a TLS-ending load balancer', () => {
  let dtr: RunningDtr;
  beforeAll(async () => {
    dtr = await startDtr('network: { trustedproxies: [127.0.0.1/32] }');
  });
  afterAll(async () => {
    await dtr.close();
  });

  const signInForm = async (headers: Record<string, string>) => {
    const form = await dtr.fetch('/login', { headers });
    const setCookie = form.headers.get('set-cookie') ?? '';
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    return { setCookie, cookie: setCookie.split(';')[0] ?? '', token };
  };

  it('are Secure when a trusted proxy says the client used https', async () => {
    const form = await signInForm({ 'X-Forwarded-Proto': 'https' });
    expect(form.setCookie).toMatch(/;\s*secure/i);
    const signedIn = await dtr.fetch('/login', {
      method: 'POST',
      headers: {
        'X-Forwarded-Proto': 'https',
        'Content-Type': 'application/x-www-form-urlencoded',
        Cookie: form.cookie,
      },
      body: new URLSearchParams({
        username: 'admin',
        password: 'admin-password',
        _csrf: form.token,
      }).toString(),
      redirect: 'manual',
    });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get('set-cookie')).toMatch(/dtr_session=[^;]+;.*secure/i);
  });

  it('are not Secure over plain http, or when the claim comes from an untrusted peer', async () => {
    expect((await signInForm({})).setCookie).not.toMatch(/;\s*secure/i);
    const untrusted = await startDtr('network: { trustedproxies: [10.9.9.9/32] }');
    try {
      const form = await untrusted.fetch('/login', { headers: { 'X-Forwarded-Proto': 'https' } });
      expect(form.headers.get('set-cookie') ?? '').not.toMatch(/;\s*secure/i);
    } finally {
      await untrusted.close();
    }
  });
});
