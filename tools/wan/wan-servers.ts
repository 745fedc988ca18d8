/**
 * The servers of the WAN chain benchmark: DTR at headquarters and the caches of a chain, each in
 * its site (as {@link WanPlan} places them), with their configurations; DTR's set-up through its
 * API (the user, los-angeles registered, the image pushed); and the waits between runs (up, judged
 * healthy by DTR, fills stored). All calls from the benchmark go over the control URLs, never
 * over the simulated links.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaTypes } from '@dtr-cache/registry-protocol';
import { ociManifestJson } from '../images/oci-manifest';
import { serverRuntime, workspaceRoot } from '../topology/topology';
import { type ServerSite, upstreamOf } from './chain-plan';
import { namespaceOf } from './namespaces';
import type { WanPlan } from './wan-plan';
import { readTail, type RunProcesses } from './wan-processes';

export const ADMIN = { name: 'admin', password: 'wan-admin-password' } as const;
export const USER = { name: 'wan', password: 'wan-user-password' } as const;
/** The cache the client pulls through: the only one registered with DTR. */
export const FIRST_CACHE = 'los-angeles';

const basic = (who: { name: string; password: string }) =>
  `Basic ${Buffer.from(`${who.name}:${who.password}`).toString('base64')}`;

/** The servers of a run: where they run, their folder, and how the benchmark reaches them. */
export class WanServers {
  constructor(
    private readonly plan: WanPlan,
    private readonly processes: RunProcesses,
    private readonly work: string,
  ) {}

  private namespace(site: ServerSite): string | undefined {
    return this.plan.mode === 'namespaces' ? namespaceOf(site) : undefined;
  }

  private startServer(app: 'dtr-api' | 'content-cache', site: ServerSite, config: string): void {
    const runtime = serverRuntime(app);
    this.processes.start({
      name: site,
      namespace: this.namespace(site),
      argv: [
        process.execPath,
        ...runtime.nodeOptions,
        join(workspaceRoot, 'apps', app, 'bin', `${app}.mjs`),
        config,
      ],
      env: runtime.env,
      logFile: this.logOf(site),
    });
  }

  logOf(site: ServerSite): string {
    return join(this.work, `${site}.log`);
  }

  /** Starts DTR and waits until it answers. @throws Error with its log if it does not. */
  async startDtr(): Promise<void> {
    const folder = join(this.work, 'headquarters');
    mkdirSync(folder, { recursive: true });
    const config = join(folder, 'dtr.yml');
    writeFileSync(
      config,
      [
        'log: { level: info, formatter: text }',
        `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${folder}/blobs } }`,
        `http: { addr: "${this.plan.listenAddress('headquarters')}" }`,
        `database: { path: ${folder}/dtr.sqlite }`,
        `auth: { keyfile: ${folder}/token-key.pem, tokenttl: 2h }`,
        `admin: { password: ${ADMIN.password} }`,
        'contentcaches: { healthinterval: 1s }',
        '',
      ].join('\n'),
    );
    this.startServer('dtr-api', 'headquarters', config);
    await this.waitAnswer('headquarters', '/v2/', (status) => status < 500);
  }

  /**
   * Starts the caches of `chain` on new, empty store folders (`run` names them), the farthest
   * first, and waits until each can verify grants (it has DTR's keys through its upstream).
   */
  async startChain(chain: readonly ServerSite[], run: string): Promise<void> {
    for (const site of [...chain].reverse()) {
      const folder = join(this.work, run, site);
      mkdirSync(join(folder, 'store'), { recursive: true });
      const upstream = upstreamOf(chain, site);
      const config = join(folder, 'cache.yml');
      writeFileSync(
        config,
        [
          'version: 0.1',
          'log: { level: info, formatter: text }',
          `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${folder}/store } }`,
          `http: { addr: "${this.plan.listenAddress(site)}" }`,
          'middleware:',
          '  registry:',
          '    - name: downstream',
          '      options:',
          '        blobttl: 24h',
          '        workers: 1',
          '        upstreams:',
          `          - originhost: ${this.plan.originUrl(site)}`,
          ...(upstream === 'headquarters'
            ? []
            : [`            upstreamhosts: [${this.plan.urlFrom(site, upstream)}]`]),
          '',
        ].join('\n'),
      );
      this.startServer('content-cache', site, config);
    }
    for (const site of chain) await this.waitAnswer(site, '/health', (status) => status === 200);
  }

  /**
   * Stops the caches of `chain` (SIGTERM: they finish what they serve) and deletes their folders
   * (`run`'s: stores and configurations; their logs stay).
   */
  async stopChain(chain: readonly ServerSite[], run: string): Promise<void> {
    await Promise.all(chain.map((site) => this.processes.stop(site)));
    rmSync(join(this.work, run), { recursive: true, force: true });
  }

  private async waitAnswer(
    site: ServerSite,
    path: string,
    ok: (status: number) => boolean,
    timeoutMs = 90_000,
  ): Promise<void> {
    const url = `${this.plan.controlUrl(site)}${path}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await fetch(url, { signal: AbortSignal.timeout(5000) }).then(
        (answer) => answer.status,
        () => 0,
      );
      if (status !== 0 && ok(status)) return;
      if (!this.processes.isRunning(site))
        throw new Error(`${site} exited\n${readTail(this.logOf(site))}`);
      if (Date.now() > deadline)
        throw new Error(`${site}: ${url} answered ${status}\n${readTail(this.logOf(site))}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const answer = await fetch(`${this.plan.controlUrl('headquarters')}${path}`, {
      method,
      headers: { authorization: basic(ADMIN), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    if (answer.status >= 300)
      throw new Error(`${method} ${path} answered ${answer.status}: ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  /** Creates the benchmark's user (no cache setting: each pull names its route). */
  async createUser(): Promise<void> {
    await this.api('POST', '/api/v0/accounts', {
      name: USER.name,
      type: 'user',
      password: USER.password,
    });
  }

  /** Registers los-angeles, at the URL the client reaches it by. */
  async registerFirstCache(): Promise<void> {
    await this.api('POST', '/api/v0/content_caches', {
      name: FIRST_CACHE,
      hosts: [this.plan.urlFrom('office', 'los-angeles')],
    });
  }

  /** Waits until DTR judges los-angeles healthy (its checks run every second). */
  async waitFirstCacheHealthy(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listing = (await this.api('GET', '/api/v0/content_caches')) as {
        contentCaches: Array<{ name: string; members: Array<{ health: { status: string } }> }>;
      };
      const cache = listing.contentCaches.find((each) => each.name === FIRST_CACHE);
      if (cache?.members.every((member) => member.health.status === 'healthy')) return;
      if (Date.now() > deadline)
        throw new Error(`DTR does not judge ${FIRST_CACHE} healthy: ${JSON.stringify(cache)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Waits until no cache of `chain` has a fill in progress (a warm pull finds every blob stored). */
  async waitFillsStored(chain: readonly ServerSite[], timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const site of chain) {
      for (;;) {
        const health = (await (await fetch(`${this.plan.controlUrl(site)}/health`)).json()) as {
          fillsInProgress: number;
        };
        if (health.fillsInProgress === 0) break;
        if (Date.now() > deadline) throw new Error(`${site}: fills still in progress`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * Pushes an image of `layers` layers of `layerBytes` random bytes each (and a config) to DTR as
   * the benchmark's user, each blob in one request; returns its reference and blob count.
   */
  async pushImage(layers: number, layerBytes: number): Promise<PushedImage> {
    const repository = `${USER.name}/chain`;
    const dtr = this.plan.controlUrl('headquarters');
    const upload = async (content: Buffer) => {
      const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
      const answer = await fetch(
        `${dtr}/v2/${repository}/blobs/uploads/?digest=${encodeURIComponent(digest)}`,
        {
          method: 'POST',
          headers: { authorization: basic(USER), 'content-type': MediaTypes.octetStream },
          body: content,
        },
      );
      if (answer.status !== 201) throw new Error(`blob upload answered ${answer.status}`);
      return { digest, size: content.length };
    };
    const layerBlobs = [];
    for (let index = 0; index < layers; index += 1)
      layerBlobs.push(await upload(randomBytes(layerBytes)));
    const config = await upload(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Labels: { 'bench.wan': randomBytes(8).toString('hex') } },
          rootfs: { type: 'layers', diff_ids: [] },
        }),
      ),
    );
    const manifest = ociManifestJson(config, layerBlobs);
    const answer = await fetch(`${dtr}/v2/${repository}/manifests/v1`, {
      method: 'PUT',
      headers: { authorization: basic(USER), 'content-type': MediaTypes.ociManifest },
      body: manifest,
    });
    if (answer.status !== 201)
      throw new Error(`manifest push answered ${answer.status}: ${await answer.text()}`);
    return {
      reference: `${repository}:v1`,
      blobs: layers + 1,
      bytes: layers * layerBytes + config.size,
    };
  }
}

export interface PushedImage {
  readonly reference: string;
  /** Config and layers. */
  readonly blobs: number;
  readonly bytes: number;
}
