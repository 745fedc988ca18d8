import type { cacheJson } from '../api/content-cache-routes';
import type { Account } from '../store/account-store';
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

/** The navigation entry a page belongs to. */
export type Section =
  'repositories' | 'organizations' | 'profile' | 'users' | 'caches' | 'docs' | 'none';

export function csrfField(viewer: Viewer): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrfToken}" />`;
}

/** A required, labelled input of a form (its value escaped; a password is never echoed back). */
export function textField(field: {
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

export function notices(list: readonly Notice[]): SafeHtml {
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
          ${link('/repositories', 'Repositories', 'repositories')}
          ${link('/organizations', 'Organizations', 'organizations')}
          ${link(`/users/${viewer.account.name}`, 'Profile', 'profile')}
          ${viewer.account.isAdmin && link('/admin/users', 'Users', 'users')}
          ${viewer.account.isAdmin && link('/admin/content-caches', 'Content Caches', 'caches')}
          ${link('/api/docs', 'API docs', 'docs')}
        </nav>
        <div class="who">
          <span
            ><span class="wide-only">Signed in as </span
            ><strong>${viewer.account.name}</strong></span
          >
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
        <link rel="icon" href="/favicon.ico" />
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

/** A page for a refused or failed request. */
export function errorPage(options: { viewer?: Viewer; title: string; message: string }): string {
  return layout({
    title: options.title,
    ...(options.viewer ? { viewer: options.viewer } : {}),
    body: html`<h1>${options.title}</h1>
      <div class="notice error" role="alert">${options.message}</div>
      <p><a href="/">Back to the repositories</a></p>`,
  });
}
