import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  BLOB_GRANT_KEYS_PATH,
  BlobGrantVerifier,
  Digest,
  generateGrantSigningKey,
  type GrantSigningKey,
  grantFromQuery,
  matchRegistryRoute,
  signBlobGrant,
} from '@dtr-cache/registry-protocol';

/** How the stand-in serves a blob. */
export type Behaviour =
  | { kind: 'normal' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'die-after'; bytes: number }
  | { kind: 'wrong-bytes' }
  /** Wrong bytes, slowly, for the first GET of the blob; the right ones for later GETs. */
  | { kind: 'wrong-bytes-once'; delayMs: number }
  | { kind: 'stall-after'; bytes: number }
  | { kind: 'status'; status: number };

const CHUNK = 64 * 1024;

/**
 * An in-process origin standing in for DTR: it signs grants with its own key, publishes the key
 * as JWKS, verifies the grant of every blob request, counts requests, and misbehaves on demand.
 */
export class StandInOrigin {
  readonly blobs = new Map<string, Buffer>();
  readonly behaviours = new Map<string, Behaviour>();
  requests: Array<{ method: string; path: string }> = [];
  keysFetched = 0;
  /** How the key set is answered: the key, an empty set, or 503 (an upstream still starting). */
  keysAnswer: 'key' | 'empty' | 'unavailable' = 'key';
  /** The issuer named beside the keys; undefined leaves it out (as an older origin would). */
  keysIssuer: string | undefined = 'dtr';
  key!: GrantSigningKey;
  url = '';
  private server!: Server;

  /** Starts on a loopback port; with `tls` (PEM certificate and key) it serves HTTPS. */
  static async start(tls?: { cert: string; key: string }): Promise<StandInOrigin> {
    const origin = new StandInOrigin();
    origin.key = await generateGrantSigningKey();
    const handler = (request: IncomingMessage, response: ServerResponse) =>
      void origin.handle(request, response);
    origin.server = tls ? createTlsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => origin.server.listen(0, '127.0.0.1', resolve));
    origin.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(origin.server.address() as AddressInfo).port}`;
    return origin;
  }

  /** Starts serving HTTPS with `dtr.pem` and `dtr-key.pem` of a certificate directory. */
  static async startWithCertificates(certificates: string): Promise<StandInOrigin> {
    return StandInOrigin.start({
      cert: await readFile(join(certificates, 'dtr.pem'), 'utf8'),
      key: await readFile(join(certificates, 'dtr-key.pem'), 'utf8'),
    });
  }

  add(content: Buffer, behaviour: Behaviour = { kind: 'normal' }): Digest {
    const digest = Digest.of(content);
    this.blobs.set(digest.toString(), content);
    this.behaviours.set(digest.toString(), behaviour);
    return digest;
  }

  grant(
    repository: string,
    digest: Digest,
    options: { lifetimeSeconds?: number; now?: Date; key?: GrantSigningKey; issuer?: string } = {},
  ) {
    return signBlobGrant(options.key ?? this.key, {
      repository,
      digest,
      subject: 'alice',
      accountId: 7,
      generation: 1,
      lifetimeSeconds: options.lifetimeSeconds ?? 60,
      issuer: options.issuer ?? 'dtr',
      ...(options.now ? { now: options.now } : {}),
    });
  }

  blobGets(digest: Digest): number {
    return this.requests.filter(
      (request) => request.method === 'GET' && request.path.endsWith(digest.toString()),
    ).length;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    if (url.pathname === BLOB_GRANT_KEYS_PATH) {
      this.keysFetched += 1;
      if (this.keysAnswer === 'unavailable') {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          keys: this.keysAnswer === 'key' ? [this.key.publicKey] : [],
          issuer: this.keysIssuer,
        }),
      );
      return;
    }
    this.requests.push({ method: request.method ?? '', path: url.pathname });
    const route = matchRegistryRoute(url.pathname);
    if (route?.name !== 'blob') {
      response.writeHead(404).end();
      return;
    }
    try {
      await new BlobGrantVerifier({ keys: [this.key.publicKey], issuer: 'dtr' }).verify(
        grantFromQuery(url.searchParams),
        { repository: route.repository, digest: route.digest },
      );
    } catch {
      response
        .writeHead(401, { 'Content-Type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"grant refused"}]}');
      return;
    }
    const content = this.blobs.get(route.digest.toString());
    const behaviour = this.behaviours.get(route.digest.toString()) ?? { kind: 'normal' };
    if (!content) {
      response
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
      return;
    }
    if (behaviour.kind === 'status') {
      response.writeHead(behaviour.status).end();
      return;
    }
    response.writeHead(200, {
      'Content-Length': content.length,
      'Docker-Content-Digest': route.digest.toString(),
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    const wrong =
      behaviour.kind === 'wrong-bytes' ||
      (behaviour.kind === 'wrong-bytes-once' && this.blobGets(route.digest) === 1);
    const body = wrong ? Buffer.from(content.map((byte) => byte ^ 0xff)) : content;
    for (let offset = 0; offset < body.length; offset += CHUNK) {
      if (behaviour.kind === 'die-after' && offset >= behaviour.bytes) {
        response.destroy();
        return;
      }
      if (behaviour.kind === 'stall-after' && offset >= behaviour.bytes) return;
      if (behaviour.kind === 'slow' || (behaviour.kind === 'wrong-bytes-once' && wrong))
        await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
      if (!response.write(body.subarray(offset, offset + CHUNK)))
        await new Promise((resolve) => response.once('drain', resolve));
    }
    response.end();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
