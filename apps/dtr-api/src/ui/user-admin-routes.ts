import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { createAccount, deleteAccount, setAdministrator } from '../api/account-operations';
import { html } from './html';
import { attempt, listQueryOf, PAGE_SIZE, reasonOf } from './organization-page-parts';
import { confirmationPage } from './confirmation-page';
import { callerOf, errorNotice as error } from './organization-views';
import { noticeOf, PageError, type PageKit, show } from './page-kit';
import type { Notice, Viewer } from './ui-pages';
import { type NewUserForm, usersPage } from './user-admin-pages';

const NOTICES: Readonly<Record<string, Notice>> = {
  created: { kind: 'ok', text: 'The user was created.' },
  deleted: { kind: 'ok', text: 'The user was deleted.' },
  granted: { kind: 'ok', text: 'The user is now an administrator.' },
  revoked: { kind: 'ok', text: 'The user is no longer an administrator.' },
};

const MANAGE = 'manage users';

/**
 * Administrators: the Users page (search, page through, create), making a user an administrator
 * or not, and deleting a user (confirmed on a page first). The operations are the JSON API's, so
 * the last administrator and the caller's own account are protected alike.
 */
export function userAdminRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;

  const showUsers = async (
    ctx: Context,
    viewer: Viewer,
    notices: Notice[],
    status = 200,
    form?: NewUserForm,
    only?: string,
  ) => {
    // After a refused change, the list shows the user it was about (`only`).
    const query = only === undefined ? listQueryOf(ctx) : { after: undefined, search: only };
    const found = await services.accounts.page({
      kind: 'user',
      search: query.search,
      ...(query.after === undefined ? {} : { after: query.after }),
      limit: PAGE_SIZE,
    });
    show(
      ctx,
      usersPage({
        viewer,
        users: found.accounts,
        query,
        next: found.next,
        notices,
        ...(form ? { form } : {}),
      }),
      status,
    );
  };

  /** The signed-in administrator posting a form with its CSRF token (else as signedInForm). */
  const adminForm = async (ctx: Context) => {
    const submitted = await kit.signedInForm(ctx);
    if (submitted) kit.requireAdmin(submitted.viewer, MANAGE);
    return submitted;
  };

  router.get(
    '/admin/users',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      kit.requireAdmin(viewer, MANAGE);
      await showUsers(ctx, viewer, noticeOf(ctx, NOTICES));
    }),
  );

  router.post(
    '/admin/users',
    page(async (ctx) => {
      const submitted = await adminForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      const input = {
        username: (form.get('username') ?? '').trim(),
        isAdmin: form.get('isAdmin') === 'true',
      };
      const created = await attempt(() =>
        createAccount(services, callerOf(viewer), {
          name: input.username,
          kind: 'user',
          password: form.get('password') ?? '',
          isAdmin: input.isAdmin,
        }),
      );
      if (created instanceof RegistryError)
        return showUsers(
          ctx,
          viewer,
          error(`Not created: ${reasonOf(created)}.`),
          created.status,
          input,
        );
      ctx.redirect(`/admin/users?q=${encodeURIComponent(created.name)}&notice=created`);
    }),
  );

  router.post(
    '/admin/users/:name/admin',
    page(async (ctx) => {
      const submitted = await adminForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      const value = form.get('isAdmin');
      const isAdmin = value === 'true' ? true : value === 'false' ? false : value;
      const name = ctx.params['name'] ?? '';
      const changed = await attempt(() =>
        setAdministrator(services, callerOf(viewer), name, isAdmin),
      );
      if (changed instanceof RegistryError)
        return showUsers(
          ctx,
          viewer,
          error(`${name} was not changed: ${reasonOf(changed)}.`),
          changed.status,
          undefined,
          name,
        );
      // An administrator who revoked their own role may no longer open this page.
      ctx.redirect(
        changed.id === viewer.account.id && !changed.isAdmin
          ? `/users/${changed.name}`
          : `/admin/users?q=${encodeURIComponent(changed.name)}&notice=${changed.isAdmin ? 'granted' : 'revoked'}`,
      );
    }),
  );

  router.get(
    '/admin/users/:name/delete',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      kit.requireAdmin(viewer, MANAGE);
      const user = await services.accounts.find(ctx.params['name'] ?? '');
      if (!user || user.kind !== 'user')
        throw new PageError(404, 'No such user', `There is no user named "${ctx.params['name']}".`);
      if (user.id === viewer.account.id)
        throw new PageError(
          409,
          'Not allowed',
          'You cannot delete your own account: another administrator can.',
        );
      const organizations = await services.memberships.organizationsOf(user);
      show(
        ctx,
        confirmationPage({
          viewer,
          section: 'users',
          title: `Delete ${user.name}`,
          question: `Delete the user ${user.name}${user.isAdmin ? ' (an administrator)' : ''}?`,
          consequences: html`<p>
              ${
                organizations.length === 0
                  ? 'This deletes their repositories and their sessions.'
                  : `This deletes their repositories, their sessions and their memberships (in ${organizations.map(({ organization }) => organization.name).join(', ')}).`
              }
              It cannot be undone.
            </p>
            ${
              organizations.some(({ role }) => role === 'owner') &&
              html`<p class="hint">
                If they are the last owner of an organization, make another member an owner first.
              </p>`
            }`,
          action: `/admin/users/${user.name}/delete`,
          button: 'Delete user',
          cancel: '/admin/users',
        }),
      );
    }),
  );

  router.post(
    '/admin/users/:name/delete',
    page(async (ctx) => {
      const submitted = await adminForm(ctx);
      if (!submitted) return;
      const { viewer } = submitted;
      const name = ctx.params['name'] ?? '';
      const deleted = await attempt(() => deleteAccount(services, callerOf(viewer), name, 'user'));
      if (deleted instanceof RegistryError)
        return showUsers(
          ctx,
          viewer,
          error(`${name} was not deleted: ${reasonOf(deleted)}.`),
          deleted.status,
          undefined,
          name,
        );
      ctx.redirect('/admin/users?notice=deleted');
    }),
  );
}
