import { MIN_PASSWORD_LENGTH } from '../api/account-operations';
import type { Account } from '../store/account-store';
import { html, type SafeHtml } from './html';
import { type ListQuery, pager, searchForm } from './organization-page-parts';
import { csrfField, layout, type Notice, notices, textField, type Viewer } from './ui-pages';

/** The create-user form as it was sent (never the password), shown again with an error. */
export interface NewUserForm {
  readonly username: string;
  readonly isAdmin: boolean;
}

function adminToggle(viewer: Viewer, user: Account): SafeHtml {
  return html`<form class="inline" method="post" action="/admin/users/${user.name}/admin">
    ${csrfField(viewer)}
    <input type="hidden" name="isAdmin" value="${user.isAdmin ? 'false' : 'true'}" />
    <button
      type="submit"
      aria-label="${user.isAdmin ? 'Revoke administrator from' : 'Make administrator'} ${user.name}"
    >
      ${user.isAdmin ? 'Revoke admin' : 'Make admin'}<span class="wide-only">istrator</span>
    </button>
  </form>`;
}

function userRow(viewer: Viewer, user: Account): SafeHtml {
  const yourself = user.id === viewer.account.id;
  return html`<tr>
    <td>
      <a href="/users/${user.name}">${user.name}</a>
      ${yourself && html`<span class="empty you">(you)</span>`}
    </td>
    <td>${user.isAdmin ? html`<span class="badge admin">admin</span>` : html`user`}</td>
    <td class="wide-only">${user.createdAt.slice(0, 10)}</td>
    <td>
      <div class="actions">
        ${adminToggle(viewer, user)}
        ${
          !yourself &&
          html`<a
            class="danger-link"
            href="/admin/users/${user.name}/delete"
            aria-label="Delete ${user.name}"
            >Delete</a
          >`
        }
      </div>
    </td>
  </tr>`;
}

function userTable(viewer: Viewer, users: readonly Account[]): SafeHtml {
  return html`<table class="accounts">
    <thead>
      <tr>
        <th>User</th>
        <th>Role</th>
        <th class="wide-only">Created</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      ${users.map((user) => userRow(viewer, user))}
    </tbody>
  </table>`;
}

function createUserForm(viewer: Viewer, form: NewUserForm | undefined): SafeHtml {
  return html`<form class="card" id="create" method="post" action="/admin/users">
    <h2>Create a user</h2>
    ${csrfField(viewer)}
    ${textField({
      name: 'username',
      label: 'Username',
      value: form?.username ?? '',
      autocomplete: 'off',
      placeholder: 'alice',
      hint: '2 to 64 lower-case letters and digits, separated by ".", "_", "__" or "-". Users and organizations share names.',
    })}
    ${textField({
      name: 'password',
      label: 'Password',
      type: 'password',
      autocomplete: 'new-password',
      hint: `At least ${MIN_PASSWORD_LENGTH} characters. Give it to the user; they can change it through the API.`,
    })}
    <div class="field checkbox">
      <input
        type="checkbox"
        id="isAdmin"
        name="isAdmin"
        value="true"
        ${form?.isAdmin && html`checked`}
      />
      <label for="isAdmin">Administrator (manages users, organizations and content caches)</label>
    </div>
    <button class="primary" type="submit">Create user</button>
  </form>`;
}

/** Administrators: users one page at a time with a search box, and a form to create one. */
export function usersPage(options: {
  viewer: Viewer;
  users: readonly Account[];
  query: ListQuery;
  next: string | undefined;
  notices: readonly Notice[];
  form?: NewUserForm;
}): string {
  const { viewer, users, query } = options;
  return layout({
    title: 'Users',
    viewer,
    section: 'users',
    body: html`<h1>Users</h1>
      <p class="subtitle">
        Everyone who signs in to DTR. Administrators manage users, organizations and content caches;
        there is always at least one. <a href="#create">Create a user</a>
      </p>
      ${notices(options.notices)}
      <div class="card">
        ${searchForm('/admin/users', 'Search users', query)}
        ${
          users.length === 0
            ? html`<p class="empty">
                ${query.search !== '' ? `No user's name contains "${query.search}".` : 'No users.'}
              </p>`
            : userTable(viewer, users)
        }
        ${pager('/admin/users', query, options.next)}
      </div>
      ${createUserForm(viewer, options.form)}`,
  });
}
