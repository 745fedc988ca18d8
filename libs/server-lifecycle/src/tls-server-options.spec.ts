import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import type { ClientAuthMode, TlsCommonConfig } from '@dtr-cache/config';
import { generateCertificates } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsPolicy } from './tls-server-options';

const HOST = '127.0.0.241';
let directory: string;
const pem = (name: string) => readFileSync(join(directory, name), 'utf8');

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'tls-policy-'));
  generateCertificates(directory, `server=${HOST}`, 'client=client.example.com');
  // A second CA whose client is not trusted by the server.
  generateCertificates(join(directory, 'other'), 'stranger=stranger.example.com');
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function common(overrides: Partial<TlsCommonConfig>): TlsCommonConfig {
  return {
    clientCas: [],
    clientAuth: 'require-and-verify-client-cert',
    minimumVersion: 'TLSv1.2',
    cipherSuites: [],
    ...overrides,
  };
}

async function serve(tls: TlsCommonConfig, clientCas: string[] = []): Promise<Server> {
  const policy = tlsPolicy(tls, clientCas);
  const server = createServer(
    { cert: pem('server.pem'), key: pem('server-key.pem'), ...policy.options },
    (_request, response) => response.end('ok'),
  );
  policy.enforce(server);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return server;
}

/** Connects and sends one request: the answer's body, or the error's code or message. */
function attempt(server: Server, options: ConnectionOptions = {}): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve) => {
    const socket = connect({
      host: HOST,
      port,
      ca: pem('ca.pem'),
      servername: undefined,
      ...options,
    });
    let body = '';
    socket.on('secureConnect', () =>
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve(`error ${error.code ?? error.message}`),
    );
    socket.on('close', () => resolve(body.endsWith('ok') ? 'ok' : `closed ${body.slice(0, 40)}`));
  });
}

const client = () => ({ cert: pem('client.pem'), key: pem('client-key.pem') });
const stranger = () => ({
  cert: readFileSync(join(directory, 'other', 'stranger.pem')),
  key: readFileSync(join(directory, 'other', 'stranger-key.pem')),
});

describe('tlsPolicy', () => {
  it('offers only the configured TLS 1.2 cipher suites', async () => {
    const server = await serve(common({ cipherSuites: ['ECDHE-ECDSA-AES128-GCM-SHA256'] }));
    try {
      const tls12 = { maxVersion: 'TLSv1.2' as const };
      expect(await attempt(server, { ...tls12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).toBe(
        'ok',
      );
      expect(await attempt(server, { ...tls12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' })).toMatch(
        /^error/,
      );
    } finally {
      server.close();
    }
  });

  it('refuses versions older than minimumtls', async () => {
    const server = await serve(common({ minimumVersion: 'TLSv1.3' }));
    try {
      expect(await attempt(server, { maxVersion: 'TLSv1.2' })).toMatch(/^error/);
      expect(await attempt(server)).toBe('ok');
    } finally {
      server.close();
    }
  });

  const cases: [ClientAuthMode, { none: string; trusted: string; untrusted: string }][] = [
    ['require-and-verify-client-cert', { none: 'refused', trusted: 'ok', untrusted: 'refused' }],
    ['verify-client-cert-if-given', { none: 'ok', trusted: 'ok', untrusted: 'refused' }],
    ['require-any-client-cert', { none: 'refused', trusted: 'ok', untrusted: 'ok' }],
    ['request-client-cert', { none: 'ok', trusted: 'ok', untrusted: 'ok' }],
  ];
  for (const [mode, expected] of cases) {
    it(`clientauth ${mode}`, async () => {
      const server = await serve(common({ clientAuth: mode, clientCas: ['/ca.pem'] }), [
        pem('ca.pem'),
      ]);
      const outcome = async (options: ConnectionOptions) =>
        (await attempt(server, options)) === 'ok' ? 'ok' : 'refused';
      try {
        expect({
          none: await outcome({}),
          trusted: await outcome(client()),
          untrusted: await outcome(stranger()),
        }).toEqual(expected);
      } finally {
        server.close();
      }
    });
  }
});
