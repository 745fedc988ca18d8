/**
 * What `npm start` prints once the topology is ready: the servers, the users, the warning about
 * caches DTR does not judge healthy (if the wait for them ended at its bound), and the commands to
 * try with the ready image (client-setup.ts).
 */
import { join } from 'node:path';
import type { ClientSetup } from './client-setup';
import type { HaControlPlane } from './ha';
import { type CacheNode, type Credentials, DEMO_CACHE, membersOf, memberUrlOf } from './topology';

/** What the banner shows. */
export interface BannerInput {
  readonly data: string;
  readonly dtrUrl: string;
  readonly caches: readonly CacheNode[];
  /** `start:ha`: the replicas and PostgreSQL. */
  readonly controlPlane: HaControlPlane | undefined;
  readonly users: Credentials;
  readonly clients: ClientSetup;
  /** The warning block about unhealthy caches (empty when there is none). */
  readonly warning: string;
  readonly endpointsFile: string;
}

/** A cache's lines: one per member, and what a group does. */
function cacheLines(cache: CacheNode, data: string): string {
  const lines = membersOf(cache).map(
    (member, index) =>
      `  ${(index === 0 ? cache.name : '').padEnd(15)} ${memberUrlOf(cache, member)}   (${member.name === cache.name ? '' : `${member.name}, `}log: ${join(data, 'logs', `${member.name}.log`)})`,
  );
  if (cache.otherMembers.length > 0)
    lines.push(
      `                  a group of ${lines.length}: DTR sends each blob to one member, chosen by its digest`,
    );
  return lines.join('\n');
}

/** Which cache serves users without a setting, by network. */
function groupNote(caches: readonly CacheNode[]): string {
  const byNetwork = caches.filter((cache) => cache.networks.length > 0);
  if (byNetwork.length === 0) return 'none here, they pull from DTR directly';
  return byNetwork.map((cache) => `${cache.name} (${cache.networks.join(', ')})`).join(', ');
}

/** The banner's text, ending with "Press Ctrl-C to stop." (what tests wait for). */
export function bannerText(input: BannerInput): string {
  const { data, dtrUrl, controlPlane, clients } = input;
  const { demo, admin } = input.users;
  const registry = new URL(dtrUrl).host;
  return `
DTR and its content caches are running (data in ${data}).

  DTR             ${dtrUrl}/   (web UI; API docs at ${dtrUrl}/api/docs; CA at ${dtrUrl}/ca)
${
  controlPlane
    ? `${controlPlane.replicas.map((replica) => `    ${replica.name.padEnd(13)} ${replica.url}   (behind nginx; log: ${replica.log})`).join('\n')}
    PostgreSQL    ${controlPlane.postgres.host}:${controlPlane.postgres.port}   (data: ${controlPlane.postgres.dataDirectory})
`
    : ''
}${input.caches.map((cache) => cacheLines(cache, data)).join('\n')}

  administrator   ${admin.username} / ${admin.password}
  demo user       ${demo.username} / ${demo.password}   (content cache: ${DEMO_CACHE}, via san-francisco)
  other users     without a setting, their pulls go to the cache whose networks contain their
                  address: ${groupNote(input.caches)}

${input.warning}Try it: push the ready image ${clients.image.archive} (made here, a few KB) to DTR, then pull it
as ${demo.username} with any client; DTR redirects its blobs to ${DEMO_CACHE}. The CAs each client needs:
${clients.certDir} (docker's certs.d layout; --cert-dir), ${join(clients.hostsDir, registry, 'hosts.toml')} (ctr).
  ${clients.push.line}
  ${clients.pull.skopeo.line}
  ${clients.pull.podman.line}
  ${clients.pull.docker.map((each) => each.line).join('\n  ')}
  ${clients.pull.ctr.line}   (as root, with containerd running)

Endpoints as JSON: ${input.endpointsFile}. Press Ctrl-C to stop.
`;
}
