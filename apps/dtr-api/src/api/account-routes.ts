import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { readJsonObject } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import { createAccount, deleteAccount, newPassword, setAdministrator } from './account-operations';
import { accountJson, findAccount, signedIn } from './api-helpers';
import { putMember, removeMember, visibleOrganization } from './membership-operations';

/** True if the request carries a body (a length, or chunked). */
function hasBody(ctx: Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/**
 * `/api/v0/accounts` (administrators create, delete and make administrators; signed-in users
 * read), an account's
 * password, and organization members with their roles (members read; owners and administrators
 * change).
 */
export function accountRoutes(router: Router, services: DtrServices): void {
  router.get('/accounts', async (ctx) => {
    signedIn(ctx);
    ctx.body = { accounts: (await services.accounts.list()).map(accountJson) };
  });

  router.post('/accounts', async (ctx) => {
    const caller = signedIn(ctx);
    if (!services.policy.isAdmin(caller)) throw new RegistryError('DENIED', 'administrators only');
    const body = await readJsonObject(ctx);
    const account = await createAccount(services, caller, {
      name: body['name'],
      kind: body['type'] === 'organization' || body['isOrg'] === true ? 'organization' : 'user',
      password: body['password'],
      isAdmin: body['isAdmin'],
    });
    ctx.status = 201;
    ctx.body = accountJson(account);
  });

  router.get('/accounts/:name', async (ctx) => {
    signedIn(ctx);
    ctx.body = accountJson(await findAccount(services, ctx.params['name'] as string));
  });

  // Administrators make a user an administrator, or no longer one: {"isAdmin": true | false}.
  router.patch('/accounts/:name', async (ctx) => {
    const caller = signedIn(ctx);
    if (!services.policy.isAdmin(caller)) throw new RegistryError('DENIED', 'administrators only');
    const body = await readJsonObject(ctx);
    ctx.body = accountJson(
      await setAdministrator(services, caller, ctx.params['name'] as string, body['isAdmin']),
    );
  });

  router.delete('/accounts/:name', async (ctx) => {
    await deleteAccount(services, signedIn(ctx), ctx.params['name'] as string);
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

  router.get('/accounts/:organization/members', async (ctx) => {
    const organization = await visibleOrganization(
      services,
      signedIn(ctx),
      ctx.params['organization'] as string,
    );
    ctx.body = {
      members: (await services.memberships.members(organization)).map(({ user, role }) => ({
        ...accountJson(user),
        role,
      })),
    };
  });

  // Adds a member (role "member" unless the body says {"role": "owner"}) or changes a role.
  router.put('/accounts/:organization/members/:user', async (ctx) => {
    const { user, role } = await putMember(
      services,
      signedIn(ctx),
      ctx.params['organization'] as string,
      ctx.params['user'] as string,
      async () => (hasBody(ctx) ? (await readJsonObject(ctx))['role'] : undefined),
    );
    ctx.body = { ...accountJson(user), role };
  });

  router.delete('/accounts/:organization/members/:user', async (ctx) => {
    await removeMember(
      services,
      signedIn(ctx),
      ctx.params['organization'] as string,
      ctx.params['user'] as string,
    );
    ctx.status = 204;
  });
}
