import type { cacheJson } from '../api/content-cache-routes';
import type { Account } from '../store/account-store';
import type { Repository } from '../store/repository-store';
import { html, type SafeHtml } from './html';

/** A message shown at the top of a page. */
export interface Notice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

/** What every signed-in page needs: who is signed in and the session's CSRF token. */
export interface Viewer {
  readonly account: Account;
  readonly csrfToken: string;
}

/** A content cache as the pages show it: as the API shows it. */
export type CacheView = ReturnType<typeof cacheJson>;

type Section = 'profile' | 'caches' | 'docs' | 'none';

function csrfField(viewer: Viewer): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrfToken}" />`;
}

/** A required, labelled input of a form (its value escaped; a password is never echoed back). */
function textField(field: {
  name: string;
  label: string;
  type?: 'text' | 'password' | 'url';
  value?: string;
  autocomplete?: string;
  autofocus?: boolean;
  placeholder?: string;
  hint?: string;
}): SafeHtml {
  return html`<div class="field">
    <label for="${field.name}">${field.label}</label>
    <input
      type="${field.type ?? 'text'}"
      id="${field.name}"
      name="${field.name}"
      required
      ${field.autocomplete !== undefined && html`autocomplete="${field.autocomplete}"`}
      ${field.autofocus === true && html`autofocus`}
      ${field.value !== undefined && html`value="${field.value}"`}
      ${field.placeholder !== undefined && html`placeholder="${field.placeholder}"`}
    />
    ${field.hint !== undefined && html`<p class="hint">${field.hint}</p>`}
  </div>`;
}

function notices(list: readonly Notice[]): SafeHtml {
  return html`${list.map(
    (notice) =>
      html`<div
        class="notice ${notice.kind}"
        role="${notice.kind === 'error' ? 'alert' : 'status'}"
      >
        ${notice.text}
      </div>`,
  )}`;
}

/** The page frame: top bar with navigation and the signed-in user, then `body`. */
export function layout(options: {
  title: string;
  viewer?: Viewer;
  section?: Section;
  body: SafeHtml;
}): string {
  const { viewer, section = 'none' } = options;
  const link = (href: string, label: string, name: Section) =>
    html`<a href="${href}" class="${section === name ? 'current' : ''}">${label}</a>`;
  const nav = viewer
    ? html`<nav>
          ${link(`/users/${viewer.account.name}`, 'Profile', 'profile')}
          ${viewer.account.isAdmin && link('/admin/content-caches', 'Content Caches', 'caches')}
          ${link('/api/docs', 'API docs', 'docs')}
        </nav>
        <div class="who">
          <span>Signed in as <strong>${viewer.account.name}</strong></span>
          <form method="post" action="/logout">
            ${csrfField(viewer)}<button type="submit">Sign out</button>
          </form>
        </div>`
    : html`<nav></nav>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · DTR</title>
        <link rel="stylesheet" href="/ui/style.css" />
      </head>
      <body>
        <header class="top">
          <div class="bar"><a class="brand" href="/">DTR</a>${nav}</div>
        </header>
        <main>${options.body}</main>
      </body>
    </html> `.value;
}

/** The sign-in form. */
export function signInPage(options: {
  csrfToken: string;
  username?: string;
  next?: string;
  notices: readonly Notice[];
}): string {
  return layout({
    title: 'Sign in',
    body: html`<div class="signin">
      <h1>Sign in to DTR</h1>
      ${notices(options.notices)}
      <form class="card" method="post" action="/login">
        <input type="hidden" name="_csrf" value="${options.csrfToken}" />
        ${options.next && html`<input type="hidden" name="next" value="${options.next}" />`}
        ${textField({
          name: 'username',
          label: 'Username',
          autocomplete: 'username',
          autofocus: true,
          value: options.username ?? '',
        })}
        ${textField({
          name: 'password',
          label: 'Password',
          type: 'password',
          autocomplete: 'current-password',
        })}
        <button class="primary" type="submit">Sign in</button>
      </form>
    </div>`,
  });
}

function profileHeader(viewer: Viewer, user: Account, tab: 'overview' | 'settings'): SafeHtml {
  return html`<h1>${user.name} ${user.isAdmin && html`<span class="badge admin">admin</span>`}</h1>
    <p class="subtitle">${viewer.account.name === user.name ? 'Your profile' : 'User profile'}</p>
    <div class="tabs">
      <a href="/users/${user.name}" class="${tab === 'overview' ? 'current' : ''}">Overview</a>
      <a href="/users/${user.name}/settings" class="${tab === 'settings' ? 'current' : ''}"
        >Settings</a
      >
    </div>`;
}

/** A user's profile: facts and repositories. */
export function profilePage(options: {
  viewer: Viewer;
  user: Account;
  contentCache: string | undefined;
  repositories: readonly Repository[];
}): string {
  const { viewer, user } = options;
  return layout({
    title: user.name,
    viewer,
    section: 'profile',
    body: html`${profileHeader(viewer, user, 'overview')}
      <div class="card">
        <h2>Account</h2>
        <dl class="facts">
          <dt>Username</dt>
          <dd>${user.name}</dd>
          <dt>Role</dt>
          <dd>${user.isAdmin ? 'Administrator' : 'User'}</dd>
          <dt>Member since</dt>
          <dd>${user.createdAt.slice(0, 10)}</dd>
          <dt>Content cache</dt>
          <dd>
            ${options.contentCache ?? html`<span class="empty">None: blobs come from DTR</span>`}
          </dd>
        </dl>
      </div>
      <div class="card">
        <h2>Repositories</h2>
        ${
          options.repositories.length === 0
            ? html`<p class="empty">
                No repositories yet. Push an image to <code>${user.name}/&lt;name&gt;</code> to
                create one.
              </p>`
            : html`<table>
                <thead>
                  <tr>
                    <th>Repository</th>
                    <th>Visibility</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  ${options.repositories.map(
                    (repository) =>
                      html`<tr>
                        <td>${repository.fullName}</td>
                        <td>${repository.visibility}</td>
                        <td>${repository.createdAt.slice(0, 10)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
      </div>`,
  });
}

function healthBadge(cache: CacheView): SafeHtml {
  return html`<span class="badge ${cache.health.status}" title="${cache.health.error ?? ''}"
    >${cache.health.status}</span
  >`;
}

/** The registered caches; with `admin`, also when each was registered and a Delete button. */
function cacheTable(caches: readonly CacheView[], admin?: Viewer): SafeHtml {
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

/** The Settings tab: the content cache selector. */
export function settingsPage(options: {
  viewer: Viewer;
  user: Account;
  caches: readonly CacheView[];
  selected: string | undefined;
  notices: readonly Notice[];
}): string {
  const { viewer, user, caches, selected } = options;
  return layout({
    title: `${user.name} · Settings`,
    viewer,
    section: 'profile',
    body: html`${profileHeader(viewer, user, 'settings')} ${notices(options.notices)}
      <form class="card" method="post" action="/users/${user.name}/settings">
        <h2>Content Cache</h2>
        ${csrfField(viewer)}
        <div class="field">
          <label for="contentCache">Pull image layers through</label>
          <select id="contentCache" name="contentCache">
            <option value="" ${selected === undefined && html`selected`}>
              None: pull from DTR directly
            </option>
            ${caches.map(
              (cache) =>
                html`<option value="${cache.name}" ${selected === cache.name && html`selected`}>
                  ${cache.name} (${cache.host}) · ${cache.health.status}
                </option>`,
            )}
          </select>
          <p class="hint">
            Manifests always come from DTR. Each layer is redirected to the chosen cache while it is
            healthy; otherwise DTR serves it.
          </p>
        </div>
        ${
          caches.length === 0 &&
          html`<p class="empty">
            No content caches are registered
            yet${viewer.account.isAdmin ? html`: <a href="/admin/content-caches">register one</a>` : ': ask an administrator'}.
          </p>`
        }
        <button class="primary" type="submit">Save</button>
      </form>
      ${
        caches.length > 0 &&
        html`<div class="card">
          <h2>Registered caches</h2>
          ${cacheTable(caches)}
        </div>`
      }`,
  });
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

/** A page for a refused or failed request. */
export function errorPage(options: { viewer?: Viewer; title: string; message: string }): string {
  return layout({
    title: options.title,
    ...(options.viewer ? { viewer: options.viewer } : {}),
    body: html`<h1>${options.title}</h1>
      <div class="notice error" role="alert">${options.message}</div>
      <p><a href="/">Back to your profile</a></p>`,
  });
}
