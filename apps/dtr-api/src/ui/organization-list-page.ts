import type { OrganizationRole } from '../store/membership-store';
import { html, type SafeHtml } from './html';
import { type ListQuery, pager, searchForm } from './organization-page-parts';
import { csrfField, layout, type Notice, notices, textField, type Viewer } from './ui-pages';

/** An organization as the list shows it: its name and the viewer's role, if a member. */
export interface OrganizationRow {
  readonly name: string;
  readonly role: OrganizationRole | undefined;
}

/** A role as a badge; "—" for an administrator who is not a member. */
export function roleBadge(role: OrganizationRole | undefined): SafeHtml {
  if (role === undefined) return html`<span class="empty">not a member</span>`;
  return html`<span class="badge role-${role}">${role === 'owner' ? 'Owner' : 'Member'}</span>`;
}

function organizationTable(rows: readonly OrganizationRow[]): SafeHtml {
  return html`<table class="accounts">
    <thead>
      <tr>
        <th>Organization</th>
        <th>Your role</th>
        <th>Repositories</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (row) =>
          html`<tr>
            <td><a href="/organizations/${row.name}">${row.name}</a></td>
            <td>${roleBadge(row.role)}</td>
            <td>
              <a href="/repositories?namespace=${encodeURIComponent(row.name)}">Repositories</a>
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * The organizations the viewer belongs to with their role (administrators: every organization,
 * with a search box and a form to create one), one page at a time.
 */
export function organizationsPage(options: {
  viewer: Viewer;
  rows: readonly OrganizationRow[];
  query: ListQuery;
  next: string | undefined;
  notices: readonly Notice[];
  form?: { name: string };
}): string {
  const { viewer, rows, query } = options;
  const admin = viewer.account.isAdmin;
  return layout({
    title: 'Organizations',
    viewer,
    section: 'organizations',
    body: html`<h1>Organizations</h1>
      <p class="subtitle">
        ${
          admin
            ? 'Every organization (you are an administrator), with your role where you are a member.'
            : 'The organizations you belong to, with your role in each.'
        }
        Members pull, push and delete in an organization's repositories; owners also add and remove
        members and change roles. ${admin && html`<a href="#create">Create an organization</a>`}
      </p>
      ${notices(options.notices)}
      <div class="card">
        ${admin && searchForm('/organizations', 'Search organizations', query)}
        ${
          rows.length === 0
            ? html`<p class="empty">
                ${
                  query.search !== ''
                    ? `No organization's name contains "${query.search}".`
                    : admin
                      ? 'There are no organizations yet.'
                      : 'You are not a member of any organization. An owner or an administrator can add you.'
                }
              </p>`
            : organizationTable(rows)
        }
        ${pager('/organizations', query, options.next)}
      </div>
      ${
        admin
          ? html`<form class="card" id="create" method="post" action="/organizations">
              <h2>Create an organization</h2>
              ${csrfField(viewer)}
              ${textField({
                name: 'name',
                label: 'Name',
                value: options.form?.name ?? '',
                placeholder: 'acme',
                hint: '2 to 64 lower-case letters and digits, separated by ".", "_", "__" or "-". Users and organizations share names.',
              })}
              <button class="primary" type="submit">Create</button>
            </form>`
          : html`<p class="hint">Administrators create organizations.</p>`
      }`,
  });
}
