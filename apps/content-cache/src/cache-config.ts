import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  type ConfigIssue,
  type ConfigSource,
  type DownstreamOptions,
  loadRegistryConfig,
  type RegistryConfig,
  type Upstream,
} from '@dtr-cache/config';

/** The content cache's configuration: the registry config plus what it needs at run time. */
export interface CacheConfig {
  readonly registry: RegistryConfig;
  readonly downstream: DownstreamOptions;
  readonly upstream: Upstream;
  /** The PEM text of each `cas` file. */
  readonly caPems: readonly string[];
  /** The PEM text of `http.tls.certificate` and `key`, when TLS is configured with files. */
  readonly tlsFiles: { certificate: string; key: string } | undefined;
  /** The PEM text of each `http.tls.clientcas` file (with certificate files or Let's Encrypt). */
  readonly clientCaPems: readonly string[];
}

function readPem(path: string, keyPath: string, issues: ConfigIssue[]): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    issues.push({
      path: keyPath,
      message: `cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    });
    return '';
  }
}

/**
 * Loads the cache's `config.yml` (with `REGISTRY_*` overrides), requires the `downstream`
 * middleware with one upstream, and reads every CA and certificate file it names.
 * @throws ConfigError naming each problem's key path.
 */
export function loadCacheConfig(source: ConfigSource): CacheConfig {
  const registry = loadRegistryConfig(source);
  const issues: ConfigIssue[] = [];
  const index = registry.middleware.registry.findIndex(
    (middleware) => middleware.name === 'downstream',
  );
  const downstream = registry.downstream;
  if (!downstream) {
    throw new ConfigError(
      [
        {
          path: 'middleware.registry',
          message:
            'the content cache needs the downstream middleware (name: downstream, with upstreams)',
        },
      ],
      source.file,
    );
  }
  const prefix = `middleware.registry[${index}].options`;
  if (downstream.upstreams.length !== 1) {
    issues.push({
      path: `${prefix}.upstreams`,
      message: `a content cache serves one origin: configure exactly one upstream (found ${downstream.upstreams.length})`,
    });
  }
  const caPems = downstream.cas.map((path, position) =>
    readPem(path, `${prefix}.cas[${position}]`, issues),
  );
  const tls = registry.http.tls;
  const tlsFiles =
    tls?.kind === 'files'
      ? {
          certificate: readPem(tls.certificate, 'http.tls.certificate', issues),
          key: readPem(tls.key, 'http.tls.key', issues),
        }
      : undefined;
  const clientCaPems = (tls?.clientCas ?? []).map((path, position) =>
    readPem(path, `http.tls.clientcas[${position}]`, issues),
  );
  if (issues.length > 0) throw new ConfigError(issues, source.file);
  return {
    registry,
    downstream,
    upstream: downstream.upstreams[0] as Upstream,
    caPems,
    tlsFiles,
    clientCaPems,
  };
}

/** How many processes serve: `workers`, or one where the configuration allows no more. */
export interface WorkerCount {
  readonly count: number;
  /** Why one process serves although more were asked for (or are the default). */
  readonly onlyOne?: string;
}

/**
 * The processes the cache runs: `workers`, unset as many as the cores available — but one with
 * `inmemory` storage (it is not shared between processes), read-only storage (a miss passed through
 * is shared with the clients of one process only) or Let's Encrypt certificates (they are obtained
 * and renewed by one process).
 */
export function workerCountOf(config: CacheConfig): WorkerCount {
  const asked = config.downstream.workers ?? availableParallelism();
  if (asked > 1 && config.registry.storage.driver.kind === 'inmemory')
    return { count: 1, onlyOne: 'inmemory storage is not shared between processes' };
  if (asked > 1 && config.registry.storage.readOnly)
    return {
      count: 1,
      onlyOne:
        'storage.maintenance.readonly: misses are passed through, each downloaded once by one process',
    };
  if (asked > 1 && config.registry.http.tls?.kind === 'letsencrypt')
    return { count: 1, onlyOne: "Let's Encrypt certificates are obtained by one process" };
  return { count: asked };
}
