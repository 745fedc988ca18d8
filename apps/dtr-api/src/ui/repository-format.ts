/** How the repository pages write digests, sizes, times and pull commands (pure functions). */

/** `sha256:` and the first 12 hex digits of a digest (the whole digest if it is not one). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  if (colon === -1) return digest;
  return `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}`;
}

/** A host name or address with an optional port, as a `Host` header carries it. */
const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** Placeholder for the registry's host when the request's is not a plain host name. */
export const UNKNOWN_HOST = 'dtr.example.com';

/**
 * The registry host for pull commands: the `Host` the browser used (`ctx.host`: clients reach
 * the registry where the browser does); a placeholder if it is not a plain `host[:port]`.
 */
export function registryHost(host: string): string {
  return host.length <= 260 && HOST_PATTERN.test(host) ? host.toLowerCase() : UNKNOWN_HOST;
}

/** A client's command to pull one tag. */
export interface PullCommand {
  readonly client: 'docker' | 'podman' | 'skopeo' | 'ctr';
  readonly command: string;
}

/**
 * The commands pulling `repository:tag` from `host` as `username` with docker, podman, skopeo
 * (into an OCI layout directory) and ctr (whose registry settings and CA certificates are read
 * from containerd's `/etc/containerd/certs.d`). Each authenticates: a signed-in pull goes through
 * the user's own content cache setting.
 */
export function pullCommands(options: {
  host: string;
  repository: string;
  tag: string;
  username: string;
}): PullCommand[] {
  const { host, repository, tag, username } = options;
  const reference = `${host}/${repository}:${tag}`;
  const directory = repository.slice(repository.indexOf('/') + 1);
  return [
    { client: 'docker', command: `docker login ${host} -u ${username}\ndocker pull ${reference}` },
    { client: 'podman', command: `podman login ${host} -u ${username}\npodman pull ${reference}` },
    {
      client: 'skopeo',
      command: `skopeo copy --src-creds ${username} docker://${reference} oci:${directory}:${tag}`,
    },
    {
      client: 'ctr',
      command: `ctr images pull --hosts-dir /etc/containerd/certs.d --user ${username} ${reference}`,
    },
  ];
}
