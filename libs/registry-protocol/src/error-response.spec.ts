import { describe, expect, it } from 'vitest';
import { registryErrorResponse, toRegistryError } from './error-response';
import { RegistryError } from './registry-error';

describe('registryErrorResponse', () => {
  it('is the status of the code, the JSON envelope and the headers the error carries', () => {
    const challenge = 'Bearer realm="https://dtr/auth/token",service="dtr"';
    const response = registryErrorResponse(
      new RegistryError('UNAUTHORIZED', undefined, {
        detail: { scope: 'repository:a:pull' },
        headers: { 'WWW-Authenticate': challenge },
      }),
    );
    expect(response.status).toBe(401);
    expect(response.headers).toEqual({
      'WWW-Authenticate': challenge,
      'Content-Type': 'application/json; charset=utf-8',
    });
    expect(JSON.parse(response.body)).toEqual({
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'authentication required',
          detail: { scope: 'repository:a:pull' },
        },
      ],
    });
  });

  it('takes the status from the error table for every code', () => {
    expect(registryErrorResponse(new RegistryError('UNSUPPORTED_MEDIA_TYPE')).status).toBe(415);
    expect(registryErrorResponse(new RegistryError('TOOMANYREQUESTS')).status).toBe(429);
  });
});

describe('toRegistryError', () => {
  it('passes registry errors through', () => {
    const error = new RegistryError('DENIED');
    expect(toRegistryError(error)).toBe(error);
  });

  it('maps HTTP errors to the code of their status, exposing only safe messages', () => {
    const exposed = toRegistryError(
      Object.assign(new Error('body exceeds 1 MiB'), { status: 413, expose: true }),
    );
    expect(exposed.code).toBe('TOO_LARGE');
    expect(exposed.message).toBe('body exceeds 1 MiB');
    const hidden = toRegistryError(Object.assign(new Error('internal'), { status: 400 }));
    expect(hidden.code).toBe('INVALID_REQUEST');
    expect(hidden.message).not.toContain('internal');
  });

  it('hides anything else behind UNKNOWN, keeping it as the cause', () => {
    const cause = new Error('secret database path /var/x');
    const error = toRegistryError(cause);
    expect(error.code).toBe('UNKNOWN');
    expect(error.cause).toBe(cause);
    expect(registryErrorResponse(error).body).not.toContain('secret');
  });
});
