import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBearerChallenge, parseAuthChallenges, parseBearerChallenge } from './auth-challenge';

describe('WWW-Authenticate challenges', () => {
  it('formats a Bearer challenge the way registry clients expect', () => {
    expect(
      formatBearerChallenge({
        realm: 'https://dtr.example.com/auth/token',
        service: 'dtr.example.com',
        scope: 'repository:library/alpine:pull',
      }),
    ).toBe(
      'Bearer realm="https://dtr.example.com/auth/token",service="dtr.example.com",scope="repository:library/alpine:pull"',
    );
  });

  it('parses the challenge of the reference registry', () => {
    const header =
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push",error="insufficient_scope"';
    expect(parseBearerChallenge(header)).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:samalba/my-app:pull,push',
      error: 'insufficient_scope',
    });
  });

  it('parses several challenges, token values, escapes and odd spacing', () => {
    const challenges = parseAuthChallenges(
      'Basic realm="a \\"quoted\\" realm", Bearer  realm = "r,1" , service=svc',
    );
    expect(challenges).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'r,1', service: 'svc' } },
    ]);
  });

  it('returns undefined without a Bearer realm', () => {
    expect(parseBearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseBearerChallenge('Bearer service="x"')).toBeUndefined();
    expect(parseBearerChallenge('')).toBeUndefined();
    expect(parseBearerChallenge('Bearer realm="unterminated')).toBeUndefined();
  });

  it('round-trips any parameter values (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (realm, service, scope) => {
        const challenge = { realm, service, scope };
        expect(parseBearerChallenge(formatBearerChallenge(challenge))).toEqual(challenge);
      }),
    );
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(fc.property(fc.string(), (header) => void parseAuthChallenges(header)));
  });
});
