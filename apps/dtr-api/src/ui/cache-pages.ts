import type { TopologyNode } from '../caches/cache-topology';
import type { CacheDashboardJson } from './dashboard-live';
import { dashboardTable, topologyCard } from './dashboard-pages';
import { html, type SafeHtml } from './html';
import {
  type CacheView,
  csrfField,
  layout,
  type Notice,
  notices,
  textField,
  type Viewer,
} from './ui-pages';

/** A health badge with its reason in plain text (an unhealthy cache says why). */
function healthBadge(health: CacheView['health']): SafeHtml {
  return html`<span class="badge ${health.status}">${health.status}</span>${
      health.status === 'unhealthy' && health.error
        ? html` <span class="reason">${health.error}</span>`
        : ''
    }`;
}

/** A cache's members, each with its own health, one per line. */
function memberList(cache: CacheView): SafeHtml {
  return html`${cache.members.map(
    (member) => html`<div><code>${member.host}</code> ${healthBadge(member.health)}</div>`,
  )}`;
}

/** The registered caches with their members, networks and health (the Settings tab's list). */
export function cacheTable(caches: readonly CacheView[]): SafeHtml {
  return html`<table>
    <thead>
      <tr>
        <th>Name</th>
        <th>Members</th>
        <th>Networks</th>
        <th>Health</th>
      </tr>
    </thead>
    <tbody>
      ${caches.map(
        (cache) =>
          html`<tr>
            <td>${cache.name}</td>
            <td>${memberList(cache)}</td>
            <td>
              ${
                cache.networks.length === 0
                  ? html`<span class="empty">none</span>`
                  : html`${cache.networks.map((network) => html`<div><code>${network}</code></div>`)}`
              }
            </td>
            <td>${healthBadge(cache.health)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * Administrators: every cache with its live numbers (each linking to its dashboard), the
 * topology, and registering a cache.
 */
export function contentCachesPage(options: {
  viewer: Viewer;
  dashboards: readonly CacheDashboardJson[];
  topology: readonly TopologyNode[];
  notices: readonly Notice[];
  form?: { name: string; hosts: string; networks: string };
}): string {
  const { viewer, dashboards } = options;
  return layout({
    title: 'Content Caches',
    viewer,
    section: 'caches',
    body: html`<h1>Content Caches</h1>
      <p class="subtitle">
        Caches near your users. A cache is a group of one or more hosts: each blob goes to one
        healthy member (the same one every time), so the group stores and fetches it once. Users
        pick a cache on their profile's Settings tab; users who did not pick one pull through the
        cache whose networks contain their address.
      </p>
      ${notices(options.notices)}
      <div class="card">
        <h2>Registered caches</h2>
        ${
          dashboards.length === 0
            ? html`<p class="empty">No content caches are registered yet.</p>`
            : dashboardTable(dashboards)
        }
      </div>
      ${dashboards.length > 0 && topologyCard(options.topology)}
      <form class="card" method="post" action="/admin/content-caches">
        <h2>Register a content cache</h2>
        ${csrfField(viewer)}
        ${textField({
          name: 'name',
          label: 'Name',
          value: options.form?.name ?? '',
          placeholder: 'san-francisco',
          hint: 'Lower-case letters and digits, separated by ".", "_" or "-".',
        })}
        <div class="field">
          <label for="hosts">Members</label>
          <textarea
            id="hosts"
            name="hosts"
            rows="3"
            required
            placeholder="https://sf-1.cache.example.com:5000
https://sf-2.cache.example.com:5000"
          >
${options.form?.hosts ?? ''}</textarea>
          <p class="hint">One URL per line (1 to 32): the URLs clients use to reach each host.</p>
        </div>
        <div class="field">
          <label for="networks">Client networks (optional)</label>
          <textarea
            id="networks"
            name="networks"
            rows="2"
            placeholder="10.20.0.0/16
2001:db8:20::/48"
          >
${options.form?.networks ?? ''}</textarea>
          <p class="hint">
            One CIDR range per line: users without a setting whose address is in one pull through
            this cache (the most specific range wins).
          </p>
        </div>
        <button class="primary" type="submit">Register</button>
      </form>`,
  });
}
