import { RegistryError } from '@dtr-cache/registry-protocol';
import { putMember, removeMember } from '../api/membership-operations';
import type { OrganizationRole } from '../store/membership-store';
import { html } from './html';
import { attempt, reasonOf } from './organization-page-parts';
import { confirmationPage } from './confirmation-page';
import { callerOf, errorNotice as error, type OrganizationViews } from './organization-views';
import type { PageKit } from './page-kit';
import { show } from './page-kit';

/**
 * An organization's members: owners and administrators add members, change roles and remove
 * members (removal confirmed on a page first), with the JSON API's operations.
 */
export function organizationMemberRoutes(kit: PageKit, views: OrganizationViews): void {
  const { router, services, page, requireViewer } = kit;
  const { managed, memberRole, showOrganization } = views;

  router.post(
    '/organizations/:name/members',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      const organization = await managed(viewer, ctx.params['name']);
      const username = (form.get('username') ?? '').trim().toLowerCase();
      const role = form.get('role') ?? 'member';
      const addForm = {
        username,
        role: (role === 'owner' ? 'owner' : 'member') as OrganizationRole,
      };
      const refuse = (text: string, status: number) =>
        showOrganization(ctx, viewer, organization, error(text), status, addForm);
      if (username === '') return refuse('Not added: enter the username of the new member.', 400);
      const existing = await services.accounts.find(username);
      const current = existing && (await services.memberships.roleOf(organization.id, existing.id));
      if (current)
        return refuse(
          `Not added: ${username} is already a${current === 'owner' ? 'n owner' : ' member'} of ${organization.name}. Change their role in the list instead.`,
          409,
        );
      const added = await attempt(() =>
        putMember(services, callerOf(viewer), organization.name, username, () => role),
      );
      if (added instanceof RegistryError)
        return refuse(`Not added: ${reasonOf(added)}.`, added.status);
      ctx.redirect(`/organizations/${organization.name}?notice=added`);
    }),
  );

  router.post(
    '/organizations/:name/members/:user/role',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      const organization = await managed(viewer, ctx.params['name']);
      const { user } = await memberRole(organization, ctx.params['user']);
      const changed = await attempt(() =>
        putMember(services, callerOf(viewer), organization.name, user.name, () => form.get('role')),
      );
      if (changed instanceof RegistryError)
        return showOrganization(
          ctx,
          viewer,
          organization,
          error(`The role of ${user.name} was not changed: ${reasonOf(changed)}.`),
          changed.status,
        );
      ctx.redirect(`/organizations/${organization.name}?notice=role-changed`);
    }),
  );

  router.get(
    '/organizations/:name/members/:user/remove',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const organization = await managed(viewer, ctx.params['name']);
      const { user, role } = await memberRole(organization, ctx.params['user']);
      const yourself = user.id === viewer.account.id;
      show(
        ctx,
        confirmationPage({
          viewer,
          section: 'organizations',
          title: `Remove ${user.name} from ${organization.name}`,
          question: yourself
            ? `Leave ${organization.name}?`
            : `Remove ${user.name} (${role}) from ${organization.name}?`,
          consequences: html`<p>
            ${yourself ? 'You' : user.name} will no longer pull, push or delete in
            ${organization.name}'s private repositories.
            ${
              yourself && !viewer.account.isAdmin
                ? 'You cannot add yourself back: an owner has to.'
                : ''
            }
          </p>`,
          action: `/organizations/${organization.name}/members/${user.name}/remove`,
          button: yourself ? 'Leave organization' : 'Remove member',
          cancel: `/organizations/${organization.name}`,
        }),
      );
    }),
  );

  router.post(
    '/organizations/:name/members/:user/remove',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer } = submitted;
      const organization = await managed(viewer, ctx.params['name']);
      const userName = ctx.params['user'] ?? '';
      const removed = await attempt(() =>
        removeMember(services, callerOf(viewer), organization.name, userName),
      );
      if (removed instanceof RegistryError)
        return showOrganization(
          ctx,
          viewer,
          organization,
          error(`${userName} was not removed: ${reasonOf(removed)}.`),
          removed.status,
        );
      ctx.redirect(
        userName === viewer.account.name && !viewer.account.isAdmin
          ? '/organizations?notice=left'
          : `/organizations/${organization.name}?notice=removed`,
      );
    }),
  );
}
