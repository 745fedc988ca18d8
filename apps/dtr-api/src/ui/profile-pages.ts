import type { Account } from '../store/account-store';
import type { OrganizationRole } from '../store/membership-store';
import type { Repository } from '../store/repository-store';
import { cacheTable } from './cache-pages';
import { html, type SafeHtml } from './html';
import { type CacheView, csrfField, layout, type Notice, notices, type Viewer } from './ui-pages';
import type { PullReason } from '../caches/pull-destination';

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
  organizations: ReadonlyArray<{ name: string; role: OrganizationRole }>;
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
        <h2>Organizations</h2>
        ${
          options.organizations.length === 0
            ? html`<p class="empty">Not a member of any organization.</p>`
            : html`<table>
                  <thead>
                    <tr>
                      <th>Organization</th>
                      <th>Role</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${options.organizations.map(
                      (membership) =>
                        html`<tr>
                          <td>${membership.name}</td>
                          <td>${membership.role === 'owner' ? 'Owner' : 'Member'}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
                <p class="hint">
                  Members pull, push and delete in the organization's repositories; owners also add
                  and remove members and change roles.
                </p>`
        }
      </div>
      <div class="card">
        <h2>Repositories</h2>
        <p><a href="/repositories?namespace=${user.name}">Open ${user.name}'s repositories</a></p>
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

/** Where a user's pulls go now and why (see `effectiveCache`). */
export interface PullsGoTo {
  readonly cache: string | undefined;
  readonly reason: PullReason;
  readonly healthy: boolean | undefined;
}

/** The value of the settings form's "automatic" choice (cache names cannot contain "@"). */
export const AUTOMATIC_CHOICE = '@automatic';

function pullsGoToText(pulls: PullsGoTo): SafeHtml {
  if (pulls.cache === undefined)
    return pulls.reason === 'none'
      ? html`<strong>DTR</strong>: you chose to pull without a cache.`
      : html`<strong>DTR</strong>: no cache serves the network you are in.`;
  return html`<strong>${pulls.cache}</strong>:
    ${pulls.reason === 'chosen' ? 'you chose it.' : 'it serves the network you are in.'}
    ${
      pulls.healthy !== true &&
      html`<span class="badge unhealthy">unhealthy</span> While no member of it is healthy, DTR
        serves your layers itself.`
    }`;
}

/** The Settings tab: the content cache selector, and where pulls go now. */
export function settingsPage(options: {
  viewer: Viewer;
  user: Account;
  caches: readonly CacheView[];
  /** A cache name, `AUTOMATIC_CHOICE`, or "" (no cache). */
  selected: string;
  pullsGoTo: PullsGoTo;
  notices: readonly Notice[];
  /** Shown instead of a success: the setting was saved, but the chosen cache is unhealthy. */
  warning?: string;
}): string {
  const { viewer, user, caches, selected } = options;
  return layout({
    title: `${user.name} · Settings`,
    viewer,
    section: 'profile',
    body: html`${profileHeader(viewer, user, 'settings')} ${notices(options.notices)}
      ${options.warning && html`<div class="notice warn" role="alert">${options.warning}</div>`}
      <form class="card" method="post" action="/users/${user.name}/settings">
        <h2>Content Cache</h2>
        ${csrfField(viewer)}
        <div class="field">
          <label for="contentCache">Pull image layers through</label>
          <select id="contentCache" name="contentCache">
            <option value="${AUTOMATIC_CHOICE}" ${selected === AUTOMATIC_CHOICE && html`selected`}>
              Automatic: the cache of my network
            </option>
            <option value="" ${selected === '' && html`selected`}>
              None: pull from DTR directly
            </option>
            ${caches.map(
              (cache) =>
                html`<option value="${cache.name}" ${selected === cache.name && html`selected`}>
                  ${cache.name}
                  (${cache.hosts.length === 1 ? cache.host : `${cache.hosts.length} hosts`}) ·
                  ${cache.health.status}
                </option>`,
            )}
          </select>
          <p class="hint">
            Manifests always come from DTR. Each layer is redirected to a healthy host of the cache;
            while none is healthy, DTR serves it.
          </p>
          <p>Your pulls go to ${pullsGoToText(options.pullsGoTo)}</p>
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
