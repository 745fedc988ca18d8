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

function healthBadge(cache: CacheView): SafeHtml {
  return html`<span class="badge ${cache.health.status}" title="${cache.health.error ?? ''}"
    >${cache.health.status}</span
  >`;
}

/** The registered caches; with `admin`, also when each was registered and a Delete button. */
export function cacheTable(caches: readonly CacheView[], admin?: Viewer): SafeHtml {
  return html`<table>
    <thead>
      <tr>
        <th>Name</th>
        <th>Host</th>
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
            <td><code>${cache.host}</code></td>
            <td>${healthBadge(cache)}</td>
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
  form?: { name: string; host: string };
}): string {
  const { viewer, caches } = options;
  return layout({
    title: 'Content Caches',
    viewer,
    section: 'caches',
    body: html`<h1>Content Caches</h1>
      <p class="subtitle">
        Caches near your users. Each user picks one on their profile's Settings tab.
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
        ${textField({
          name: 'host',
          label: 'Host',
          type: 'url',
          value: options.form?.host ?? '',
          placeholder: 'https://sf.cache.example.com:5000',
          hint: 'The URL clients use to reach the cache.',
        })}
        <button class="primary" type="submit">Register</button>
      </form>`,
  });
}
