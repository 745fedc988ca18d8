import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { readJsonObject } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { OrganizationRole } from '../store/membership-store';
import { accountJson, findAccount, requireAdmin, signedIn } from './api-helpers';

/** Shortest password accepted for a user. */
export const MIN_PASSWORD_LENGTH = 8;

/** A new password from a request body. @throws RegistryError `INVALID_REQUEST` if too short. */
function newPassword(value: unknown, field = 'password'): string {
  if (typeof value !== 'string' || value.length < MIN_PASSWORD_LENGTH) {
    throw new RegistryError(
      'INVALID_REQUEST',
      `${field} must be a string of at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  return value;
}

function roleOf(value: unknown): OrganizationRole | undefined {
  if (value === undefined) return undefined;
  if (value === 'owner' || value === 'member') return value;
  throw new RegistryError('INVALID_REQUEST', 'role must be "owner" or "member"', {
    detail: { role: value },
  });
}

/** True if the request carries a body (a length, or chunked). */
function hasBody(ctx: Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/**
 * `/api/v0/accounts` (administrators create and delete; signed-in users read), an account's
 * password, and organization members with their roles (members read; owners and administrators
 * change).
 */
export function accountRoutes(router: Router, services: DtrServices): void {
  router.get('/accounts', async (ctx) => {
    signedIn(ctx);
    ctx.body = { accounts: (await services.accounts.list()).map(accountJson) };
  });

  router.post('/accounts', async (ctx) => {
    requireAdmin(ctx, services);
    const body = await readJsonObject(ctx);
    const kind =
      body['type'] === 'organization' || body['isOrg'] === true ? 'organization' : 'user';
    if (typeof body['name'] !== 'string')
      throw new RegistryError('INVALID_REQUEST', 'name is required');
    const passwordHash =
      kind === 'user' ? await services.passwords.hash(newPassword(body['password'])) : undefined;
    const account = await services.accounts.create({
      name: body['name'],
      kind,
      ...(passwordHash === undefined ? {} : { passwordHash }),
      isAdmin: kind === 'user' && body['isAdmin'] === true,
    });
    ctx.status = 201;
    ctx.body = accountJson(account);
  });

  router.get('/accounts/:name', async (ctx) => {
    signedIn(ctx);
    ctx.body = accountJson(await findAccount(services, ctx.params['name'] as string));
  });

  router.delete('/accounts/:name', async (ctx) => {
    requireAdmin(ctx, services);
    const account = await findAccount(services, ctx.params['name'] as string);
    if (
      account.isAdmin &&
      (await services.accounts.list()).filter((other) => other.isAdmin).length === 1
    ) {
      throw new RegistryError('CONFLICT', 'the last administrator cannot be deleted');
    }
    await services.accounts.delete(account.name);
    ctx.status = 204;
  });

  // A user changes their own password (giving the current one); administrators anyone's. Tokens
  // and grants issued before stop working, and so do the account's other web UI sessions.
  router.put('/accounts/:name/password', async (ctx) => {
    const caller = signedIn(ctx).account;
    const user = await findAccount(services, ctx.params['name'] as string, 'user');
    if (caller.id !== user.id && !caller.isAdmin)
      throw new RegistryError('DENIED', 'you may change only your own password');
    const body = await readJsonObject(ctx);
    const password = newPassword(body['password']);
    if (caller.id === user.id) {
      const current = body['currentPassword'];
      if (typeof current !== 'string')
        throw new RegistryError('INVALID_REQUEST', 'currentPassword is required');
      if (!(await services.authenticator.verifyPassword(ctx, user.name, current)))
        throw new RegistryError('DENIED', 'currentPassword is not the current password');
    }
    const changed = await services.accounts.setPasswordHash(
      user,
      await services.passwords.hash(password),
    );
    const { credentials } = authenticationOf(ctx);
    await services.sessions.endAll(
      changed,
      caller.id === user.id && credentials.kind === 'session' ? credentials.token : undefined,
    );
    services.logger.info('password changed', { account: user.name, by: caller.name });
    ctx.status = 204;
  });

  /** The organization of the route, if the caller may see its members (members, administrators). */
  const visibleOrganization = async (ctx: Context): Promise<Account> => {
    const principal = signedIn(ctx);
    const organization = await findAccount(
      services,
      ctx.params['organization'] as string,
      'organization',
    );
    if (!(await services.policy.ownsNamespace(principal, organization)))
      throw new RegistryError('DENIED', 'members and administrators only');
    return organization;
  };

  /** The organization and user of the route, if the caller may change its membership. */
  const managedMembership = async (
    ctx: Context,
  ): Promise<{ organization: Account; user: Account }> => {
    const organization = await visibleOrganization(ctx);
    if (!(await services.policy.canManageMembers(signedIn(ctx), organization)))
      throw new RegistryError('DENIED', 'only owners and administrators change membership');
    return {
      organization,
      user: await findAccount(services, ctx.params['user'] as string, 'user'),
    };
  };

  router.get('/accounts/:organization/members', async (ctx) => {
    const organization = await visibleOrganization(ctx);
    ctx.body = {
      members: (await services.memberships.members(organization)).map(({ user, role }) => ({
        ...accountJson(user),
        role,
      })),
    };
  });

  // Adds a member (role "member" unless the body says {"role": "owner"}) or changes a role.
  router.put('/accounts/:organization/members/:user', async (ctx) => {
    const { organization, user } = await managedMembership(ctx);
    const role = hasBody(ctx) ? roleOf((await readJsonObject(ctx))['role']) : undefined;
    const now = await services.memberships.put(organization, user, role);
    services.logger.info('membership changed', {
      organization: organization.name,
      user: user.name,
      role: now,
      by: signedIn(ctx).account.name,
    });
    ctx.body = { ...accountJson(user), role: now };
  });

  router.delete('/accounts/:organization/members/:user', async (ctx) => {
    const { organization, user } = await managedMembership(ctx);
    if (!(await services.memberships.remove(organization, user)))
      throw new RegistryError('NOT_FOUND', 'not a member', { detail: { user: user.name } });
    services.logger.info('membership removed', {
      organization: organization.name,
      user: user.name,
      by: signedIn(ctx).account.name,
    });
    ctx.status = 204;
  });
}
