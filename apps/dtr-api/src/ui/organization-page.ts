import type { Account } from '../store/account-store';
import type { Membership, OrganizationRole } from '../store/membership-store';
import { html, type SafeHtml } from './html';
import { roleBadge } from './organization-list-page';
import { type ListQuery, pager } from './organization-page-parts';
import { csrfField, layout, type Notice, notices, textField, type Viewer } from './ui-pages';

/** What the organization page shows. */
export interface OrganizationView {
  readonly viewer: Viewer;
  readonly organization: Account;
  /** The viewer's role; undefined for an administrator who is not a member. */
  readonly viewerRole: OrganizationRole | undefined;
  /** True for owners and administrators: they add and remove members and change roles. */
  readonly canManage: boolean;
  readonly members: readonly Membership[];
  readonly query: ListQuery;
  readonly next: string | undefined;
  readonly notices: readonly Notice[];
  /** The add-member form as it was sent, when it is shown again with an error. */
  readonly addForm?: { username: string; role: OrganizationRole };
}

function roleSelect(id: string, selected: OrganizationRole, label?: string): SafeHtml {
  return html`<select id="${id}" name="role" ${label !== undefined && html`aria-label="${label}"`}>
    <option value="member" ${selected === 'member' && html`selected`}>Member</option>
    <option value="owner" ${selected === 'owner' && html`selected`}>Owner</option>
  </select>`;
}

/** The member's name, linked to their profile when the viewer may open it. */
function memberName(viewer: Viewer, user: Account): SafeHtml {
  const own = user.id === viewer.account.id;
  const name = html`${user.name}${own && html` <span class="empty you">(you)</span>`}`;
  return viewer.account.isAdmin || own ? html`<a href="/users/${user.name}">${name}</a>` : name;
}

function memberRow(view: OrganizationView, { user, role }: Membership): SafeHtml {
  const base = `/organizations/${view.organization.name}/members/${user.name}`;
  if (!view.canManage)
    return html`<tr>
      <td>${memberName(view.viewer, user)}</td>
      <td>${roleBadge(role)}</td>
    </tr>`;
  return html`<tr>
    <td>${memberName(view.viewer, user)}</td>
    <td>
      <form class="inline" method="post" action="${base}/role">
        ${csrfField(view.viewer)} ${roleSelect(`role-${user.name}`, role, `Role of ${user.name}`)}
        <button type="submit" aria-label="Save the role of ${user.name}">Save</button>
      </form>
    </td>
    <td>
      <a class="danger-link" href="${base}/remove" aria-label="Remove ${user.name}">Remove</a>
    </td>
  </tr>`;
}

function memberTable(view: OrganizationView): SafeHtml {
  return html`<table class="accounts">
    <thead>
      <tr>
        <th>Member</th>
        <th>Role</th>
        ${view.canManage && html`<th></th>`}
      </tr>
    </thead>
    <tbody>
      ${view.members.map((membership) => memberRow(view, membership))}
    </tbody>
  </table>`;
}

function addMemberForm(view: OrganizationView): SafeHtml {
  return html`<form
    class="card"
    method="post"
    action="/organizations/${view.organization.name}/members"
  >
    <h2>Add a member</h2>
    ${csrfField(view.viewer)}
    ${textField({
      name: 'username',
      label: 'Username',
      value: view.addForm?.username ?? '',
      autocomplete: 'off',
      placeholder: 'alice',
    })}
    <div class="field">
      <label for="role">Role</label>
      ${roleSelect('role', view.addForm?.role ?? 'member')}
      <p class="hint">
        Members pull, push and delete in the organization's repositories; owners also manage its
        members.
      </p>
    </div>
    <button class="primary" type="submit">Add member</button>
  </form>`;
}

/**
 * An organization: its members and their roles, a link to its repositories; for owners and
 * administrators, forms to add members, change roles and remove members; for administrators, a
 * link to delete the organization.
 */
export function organizationPage(view: OrganizationView): string {
  const { viewer, organization } = view;
  return layout({
    title: organization.name,
    viewer,
    section: 'organizations',
    body: html`<h1>${organization.name}</h1>
      <p class="subtitle">Organization</p>
      ${notices(view.notices)}
      <div class="card">
        <dl class="facts">
          <dt>Your role</dt>
          <dd>
            ${roleBadge(view.viewerRole)}
            ${viewer.account.isAdmin && html`<span class="badge admin">administrator</span>`}
          </dd>
          <dt>Created</dt>
          <dd>${organization.createdAt.slice(0, 10)}</dd>
          <dt>Repositories</dt>
          <dd>
            <a href="/repositories?namespace=${encodeURIComponent(organization.name)}"
              >${organization.name}'s repositories</a
            >
          </dd>
        </dl>
      </div>
      <div class="card">
        <h2>Members</h2>
        ${
          view.members.length === 0 && view.query.after === undefined
            ? html`<p class="empty">This organization has no members yet.</p>`
            : memberTable(view)
        }
        ${pager(`/organizations/${organization.name}`, view.query, view.next)}
        ${
          view.canManage &&
          html`<p class="hint">
            An organization always keeps at least one owner: make another member an owner before the
            last one leaves or becomes a member.
          </p>`
        }
      </div>
      ${view.canManage && addMemberForm(view)}
      ${
        viewer.account.isAdmin &&
        html`<div class="card">
          <h2>Delete this organization</h2>
          <p>Deletes the organization with all its repositories and memberships.</p>
          <a class="danger-link" href="/organizations/${organization.name}/delete"
            >Delete organization…</a
          >
        </div>`
      }`,
  });
}
