/**
 * A small registry and content cache on loopback for the pull-timer specs: DTR's token service,
 * manifests and blobs (307 to the cache when the route asks for one), and a cache that answers
 * with `X-Content-Cache`. Each records the requests it got; the behaviour is changed per test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Digest,
  Headers,
  MediaTypes,
  formatBearerChallenge,
  parseCacheRoute,
} from '@dtr-cache/registry-protocol';

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

export interface FakeBlob {
  readonly digest: string;
  readonly content: Buffer;
}

/** What the fake DTR and cache do; tests change it. */
export interface FakeBehaviour {
  /** Blob requests without a route header: redirected to the cache (a user with a setting). */
  settingIsCache: boolean;
  /** DTR's answer to a route header, or undefined to honour it. */
  routeRefusal?: { status: number; code: string } | undefined;
  /** Ignore the route header altogether (an older DTR). */
  ignoreRoute: boolean;
  /** The cache's X-Content-Cache for a digest (undefined: no header). */
  cacheResult: (digest: string) => string | undefined;
  /** Bytes the cache sends instead of a blob's. */
  corrupt?: ((digest: string) => Buffer) | undefined;
  /** Delay before a blob answer, ms. */
  blobDelayMs: number;
  /** A blob request is never answered. */
  hangBlobs: boolean;
  /** The cache sends a blob's head and half its bytes, then nothing more. */
  stallBodies: boolean;
}

export interface FakeTopology {
  readonly dtr: string;
  readonly cache: string;
  readonly blobs: readonly FakeBlob[];
  readonly behaviour: FakeBehaviour;
  readonly dtrRequests: RecordedRequest[];
  readonly cacheRequests: RecordedRequest[];
  /** Most blob requests in progress at once (DTR and cache together). */
  readonly maxInFlight: () => number;
  /** Serves `tag` as an index of the image for `linux/arm64/v8` (and nothing else). */
  addIndex(tag: string): void;
  close(): Promise<void>;
}

export const USER = { username: 'alice', password: 'secret' };
const TOKEN = 'token-for-alice';

async function listen(server: Server, host: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

function sendError(response: ServerResponse, status: number, code: string, extra = {}) {
  response.writeHead(status, { 'Content-Type': 'application/json', ...extra });
  response.end(JSON.stringify({ errors: [{ code, message: `fake ${code}` }] }));
}

/** Starts the fake DTR on `dtrHost` and the fake cache on `cacheHost` (random ports). */
export async function startFakeTopology(
  dtrHost: string,
  cacheHost: string,
  layerCount = 3,
): Promise<FakeTopology> {
  const blobs: FakeBlob[] = [];
  for (let index = 0; index <= layerCount; index += 1) {
    const content = Buffer.alloc(50_000 + index * 1000, index + 1);
    blobs.push({ digest: Digest.of(content).toString(), content });
  }
  const [config, ...layers] = blobs.map((blob) => ({
    mediaType: MediaTypes.ociLayerGzip,
    digest: blob.digest,
    size: blob.content.length,
  }));
  const manifests = new Map<string, { type: string; body: Buffer }>();
  const addManifest = (references: string[], type: string, json: object) => {
    const body = Buffer.from(JSON.stringify(json));
    for (const reference of [...references, Digest.of(body).toString()])
      manifests.set(reference, { type, body });
    return Digest.of(body).toString();
  };
  const imageDigest = addManifest(['v1'], MediaTypes.ociManifest, {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { ...config, mediaType: MediaTypes.ociConfig },
    layers,
  });
  const behaviour: FakeBehaviour = {
    settingIsCache: false,
    ignoreRoute: false,
    cacheResult: () => 'miss',
    blobDelayMs: 0,
    hangBlobs: false,
    stallBodies: false,
  };
  const dtrRequests: RecordedRequest[] = [];
  const cacheRequests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const blobOf = (path: string) => blobs.find((blob) => path.includes(`/blobs/${blob.digest}`));
  const track = async (response: ServerResponse) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.once('close', () => (inFlight -= 1));
    if (behaviour.blobDelayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, behaviour.blobDelayMs));
  };

  let cacheUrl = '';
  let dtrUrl = '';
  const dtr = createServer((request, response) => {
    const path = request.url ?? '/';
    dtrRequests.push({ path, headers: request.headers });
    const challenge = {
      [Headers.wwwAuthenticate]: formatBearerChallenge({
        realm: `${dtrUrl}/auth/token`,
        service: 'fake-dtr',
      }),
    };
    if (path.startsWith('/auth/token')) {
      const expected = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
      if (request.headers.authorization !== expected)
        return sendError(response, 401, 'UNAUTHORIZED', challenge);
      response.writeHead(200, { 'Content-Type': 'application/json' });
      return response.end(JSON.stringify({ token: TOKEN }));
    }
    if (request.headers.authorization !== `Bearer ${TOKEN}`)
      return sendError(response, 401, 'UNAUTHORIZED', challenge);
    if (path === '/v2/') return response.end('{}');
    const manifest = /^\/v2\/org\/app\/manifests\/(.+)$/.exec(path);
    if (manifest) {
      const found = manifests.get(manifest[1] as string);
      if (!found) return sendError(response, 404, 'MANIFEST_UNKNOWN');
      response.writeHead(200, { 'Content-Type': found.type });
      return response.end(found.body);
    }
    if (!path.startsWith('/v2/org/app/blobs/')) {
      const scope = formatBearerChallenge({
        realm: `${dtrUrl}/auth/token`,
        error: 'insufficient_scope',
      });
      return sendError(response, 401, 'UNAUTHORIZED', { [Headers.wwwAuthenticate]: scope });
    }
    const blob = blobOf(path);
    if (!blob) return sendError(response, 404, 'BLOB_UNKNOWN');
    void track(response).then(() => {
      if (behaviour.hangBlobs) return;
      const header = request.headers[Headers.contentCacheRoute.toLowerCase()];
      const route = typeof header === 'string' && !behaviour.ignoreRoute ? header : undefined;
      if (route !== undefined && behaviour.routeRefusal)
        return sendError(response, behaviour.routeRefusal.status, behaviour.routeRefusal.code);
      const parsed = route === undefined ? undefined : parseCacheRoute(route);
      const toCache = parsed ? parsed.kind === 'cache' : behaviour.settingIsCache;
      if (toCache) {
        const member = parsed?.kind === 'cache' ? (parsed.member ?? cacheUrl) : cacheUrl;
        response.writeHead(307, { Location: `${member}${path}?grant=signed` });
        return response.end();
      }
      response.writeHead(200, { 'Content-Length': blob.content.length });
      response.end(blob.content);
    });
  });
  const cache = createServer((request, response) => {
    const path = request.url ?? '/';
    cacheRequests.push({ path, headers: request.headers });
    const blob = blobOf(path);
    if (!blob) return sendError(response, 404, 'BLOB_UNKNOWN');
    void track(response).then(() => {
      if (behaviour.hangBlobs) return;
      const result = behaviour.cacheResult(blob.digest);
      const content = behaviour.corrupt?.(blob.digest) ?? blob.content;
      response.writeHead(200, {
        'Content-Length': content.length,
        ...(result === undefined ? {} : { [Headers.contentCache]: result }),
      });
      if (behaviour.stallBodies) response.write(content.subarray(0, content.length / 2));
      else response.end(content);
    });
  });
  dtrUrl = await listen(dtr, dtrHost);
  cacheUrl = await listen(cache, cacheHost);
  return {
    dtr: dtrUrl,
    cache: cacheUrl,
    blobs,
    behaviour,
    dtrRequests,
    cacheRequests,
    maxInFlight: () => maxInFlight,
    addIndex: (tag) => {
      addManifest([tag], MediaTypes.ociIndex, {
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          {
            mediaType: MediaTypes.ociManifest,
            digest: imageDigest,
            size: manifests.get(imageDigest)?.body.length,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
        ],
      });
    },
    close: async () => {
      for (const server of [dtr, cache]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}

/** An http URL on `host` where nothing listens (a port bound a moment ago, then closed). */
export async function deadUrl(host: string): Promise<string> {
  const server = createServer();
  const url = await listen(server, host);
  await new Promise((resolve) => server.close(resolve));
  return url;
}
