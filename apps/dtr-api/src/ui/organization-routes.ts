import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { createAccount, deleteAccount } from '../api/account-operations';
import { html } from './html';
import { organizationsPage, type OrganizationRow } from './organization-list-page';
import { organizationMemberRoutes } from './organization-member-routes';
import { attempt, listQueryOf, PAGE_SIZE, pageErrorOf, reasonOf } from './organization-page-parts';
import { confirmationPage } from './confirmation-page';
import { callerOf, errorNotice as error, organizationViews } from './organization-views';
import { noticeOf, type PageKit, show } from './page-kit';
import type { Notice, Viewer } from './ui-pages';

const NOTICES: Readonly<Record<string, Notice>> = {
  created: { kind: 'ok', text: 'The organization was created. Add its first owner below.' },
  added: { kind: 'ok', text: 'The member was added.' },
  'role-changed': { kind: 'ok', text: 'The role was changed.' },
  removed: { kind: 'ok', text: 'The member was removed.' },
  left: { kind: 'ok', text: 'You left the organization.' },
  deleted: { kind: 'ok', text: 'The organization was deleted.' },
};

/**
 * The Organizations pages: the viewer's organizations (administrators: all, and creating one), an
 * organization's members (owners and administrators add, remove and change roles, removal
 * confirmed first), and deleting an organization (administrators, confirmed first). The
 * operations are the JSON API's.
 */
export function organizationRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;
  const views = organizationViews(kit);
  const { visible, showOrganization } = views;
  organizationMemberRoutes(kit, views);

  /** The organizations list: administrators page through every one, others through theirs. */
  const showList = async (
    ctx: Context,
    viewer: Viewer,
    notices: Notice[],
    status = 200,
    form?: { name: string },
  ) => {
    const listed = listQueryOf(ctx);
    let rows: OrganizationRow[];
    let next: string | undefined;
    if (viewer.account.isAdmin) {
      const found = await services.accounts.page({
        kind: 'organization',
        search: listed.search,
        ...(listed.after === undefined ? {} : { after: listed.after }),
        limit: PAGE_SIZE,
      });
      const roles = new Map(
        (await services.memberships.organizationsOf(viewer.account)).map(
          ({ organization, role }) => [organization.id, role],
        ),
      );
      rows = found.accounts.map((account) => ({ name: account.name, role: roles.get(account.id) }));
      next = found.next;
    } else {
      const found = await services.memberships.organizationsPage(viewer.account, {
        ...(listed.after === undefined ? {} : { after: listed.after }),
        limit: PAGE_SIZE,
      });
      rows = found.items.map(({ organization, role }) => ({ name: organization.name, role }));
      next = found.next;
    }
    const query = viewer.account.isAdmin ? listed : { ...listed, search: '' };
    show(
      ctx,
      organizationsPage({ viewer, rows, query, next, notices, ...(form ? { form } : {}) }),
      status,
    );
  };

  router.get(
    '/organizations',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      await showList(ctx, viewer, noticeOf(ctx, NOTICES));
    }),
  );

  router.post(
    '/organizations',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      kit.requireAdmin(viewer, 'create organizations');
      const name = (form.get('name') ?? '').trim();
      const created = await attempt(() =>
        createAccount(services, callerOf(viewer), { name, kind: 'organization' }),
      );
      if (created instanceof RegistryError)
        return showList(ctx, viewer, error(`Not created: ${reasonOf(created)}.`), created.status, {
          name,
        });
      ctx.redirect(`/organizations/${created.name}?notice=created`);
    }),
  );

  router.get(
    '/organizations/:name',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const organization = await visible(viewer, ctx.params['name']);
      await showOrganization(ctx, viewer, organization, noticeOf(ctx, NOTICES));
    }),
  );

  router.get(
    '/organizations/:name/delete',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      kit.requireAdmin(viewer, 'delete organizations');
      const organization = await visible(viewer, ctx.params['name']);
      const repositories = await services.repositories.list({
        namespace: organization.name,
        limit: 100,
      });
      show(
        ctx,
        confirmationPage({
          viewer,
          section: 'organizations',
          title: `Delete ${organization.name}`,
          question: `Delete the organization ${organization.name}?`,
          consequences: html`<p>
            This deletes its
            ${repositories.length >= 100 ? '100 or more' : String(repositories.length)}
            ${repositories.length === 1 ? 'repository' : 'repositories'} with their tags, and its
            memberships. It cannot be undone.
          </p>`,
          action: `/organizations/${organization.name}/delete`,
          button: 'Delete organization',
          cancel: `/organizations/${organization.name}`,
        }),
      );
    }),
  );

  router.post(
    '/organizations/:name/delete',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer } = submitted;
      kit.requireAdmin(viewer, 'delete organizations');
      const deleted = await attempt(() =>
        deleteAccount(services, callerOf(viewer), ctx.params['name'] ?? '', 'organization'),
      );
      if (deleted instanceof RegistryError) throw pageErrorOf(deleted, 'Not deleted');
      ctx.redirect('/organizations?notice=deleted');
    }),
  );
}
