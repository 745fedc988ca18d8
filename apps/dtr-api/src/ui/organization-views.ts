import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Caller } from '../api/account-operations';
import { visibleOrganization } from '../api/membership-operations';
import type { Account } from '../store/account-store';
import type { OrganizationRole } from '../store/membership-store';
import { organizationPage, type OrganizationView } from './organization-page';
import { attempt, listQueryOf, PAGE_SIZE } from './organization-page-parts';
import { PageError, type PageKit, show } from './page-kit';
import type { Notice, Viewer } from './ui-pages';

/** The caller of an operation: the signed-in viewer. */
export const callerOf = (viewer: Viewer): Caller => ({ kind: 'user', account: viewer.account });

/** An error notice. */
export const errorNotice = (text: string): Notice[] => [{ kind: 'error', text }];

/** What the organization routes share: finding the organization, and showing its page. */
export interface OrganizationViews {
  /** The organization `name` if the viewer sees its members. @throws PageError 404, 403. */
  visible(viewer: Viewer, name: string | undefined): Promise<Account>;
  /** The organization `name` if the viewer changes its members. @throws PageError 404, 403. */
  managed(viewer: Viewer, name: string | undefined): Promise<Account>;
  /** A member and their role. @throws PageError 404 if `userName` is not a member. */
  memberRole(
    organization: Account,
    userName: string | undefined,
  ): Promise<{ user: Account; role: OrganizationRole }>;
  /** Shows the organization's page (its members page of `?after=`) with `notices`. */
  showOrganization(
    ctx: Context,
    viewer: Viewer,
    organization: Account,
    notices: Notice[],
    status?: number,
    addForm?: OrganizationView['addForm'],
  ): Promise<void>;
}

/** The {@link OrganizationViews} of `kit`. */
export function organizationViews(kit: PageKit): OrganizationViews {
  const { services } = kit;
  /** The organization `name` if the viewer sees its members. @throws PageError 404, 403. */
  const visible: OrganizationViews['visible'] = async (
    viewer: Viewer,
    name: string | undefined,
  ): Promise<Account> => {
    const found = await attempt(() => visibleOrganization(services, callerOf(viewer), name ?? ''));
    if (!(found instanceof RegistryError)) return found;
    if (found.code === 'NOT_FOUND')
      throw new PageError(404, 'No such organization', `There is no organization named "${name}".`);
    throw new PageError(
      403,
      'Not allowed',
      `Only members of ${name} and administrators see its members.`,
    );
  };

  /** The organization `name` if the viewer changes its members. @throws PageError 404, 403. */
  const managed: OrganizationViews['managed'] = async (
    viewer: Viewer,
    name: string | undefined,
  ): Promise<Account> => {
    const organization = await visible(viewer, name);
    if (!(await services.policy.canManageMembers(callerOf(viewer), organization)))
      throw new PageError(
        403,
        'Not allowed',
        `Only owners of ${organization.name} and administrators change its members.`,
      );
    return organization;
  };

  /** The role of `userName` in the organization. @throws PageError 404 if not a member. */
  const memberRole: OrganizationViews['memberRole'] = async (
    organization: Account,
    userName: string | undefined,
  ) => {
    const user = await services.accounts.find(userName ?? '');
    const role = user && (await services.memberships.roleOf(organization.id, user.id));
    if (!user || !role)
      throw new PageError(
        404,
        'Not a member',
        `"${userName ?? ''}" is not a member of ${organization.name}.`,
      );
    return { user, role };
  };

  const showOrganization: OrganizationViews['showOrganization'] = async (
    ctx: Context,
    viewer: Viewer,
    organization: Account,
    notices: Notice[],
    status = 200,
    addForm?: OrganizationView['addForm'],
  ) => {
    const query = { ...listQueryOf(ctx), search: '' };
    const members = await services.memberships.membersPage(organization, {
      ...(query.after === undefined ? {} : { after: query.after }),
      limit: PAGE_SIZE,
    });
    show(
      ctx,
      organizationPage({
        viewer,
        organization,
        viewerRole: await services.memberships.roleOf(organization.id, viewer.account.id),
        canManage: await services.policy.canManageMembers(callerOf(viewer), organization),
        members: members.items,
        query,
        next: members.next,
        notices,
        ...(addForm ? { addForm } : {}),
      }),
      status,
    );
  };

  return { visible, managed, memberRole, showOrganization };
}
