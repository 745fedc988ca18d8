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

function healthBadge(health: CacheView['health']): SafeHtml {
  return html`<span class="badge ${health.status}" title="${health.error ?? ''}"
    >${health.status}</span
  >`;
}

/** A cache's members, each with its own health, one per line. */
function memberList(cache: CacheView): SafeHtml {
  return html`${cache.members.map(
    (member) => html`<div><code>${member.host}</code> ${healthBadge(member.health)}</div>`,
  )}`;
}

/** The registered caches; with `admin`, also when each was registered and a Delete button. */
export function cacheTable(caches: readonly CacheView[], admin?: Viewer): SafeHtml {
  return html`<table>
    <thead>
      <tr>
        <th>Name</th>
        <th>Members</th>
        <th>Networks</th>
        <th>Health</th>
        ${
          admin &&
          html`<th>Registered</th>
            <th></th>`
        }
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
            ${
              admin &&
              html`<td>${cache.createdAt.slice(0, 10)}</td>
                <td>
                  <form method="post" action="/admin/content-caches/${cache.id}/delete">
                    ${csrfField(admin)}
                    <button class="danger" type="submit" aria-label="Delete ${cache.name}">
                      Delete
                    </button>
                  </form>
                </td>`
            }
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Administrators: list, register and delete content caches. */
export function contentCachesPage(options: {
  viewer: Viewer;
  caches: readonly CacheView[];
  notices: readonly Notice[];
  form?: { name: string; hosts: string; networks: string };
}): string {
  const { viewer, caches } = options;
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
          caches.length === 0
            ? html`<p class="empty">No content caches are registered yet.</p>`
            : cacheTable(caches, viewer)
        }
      </div>
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
