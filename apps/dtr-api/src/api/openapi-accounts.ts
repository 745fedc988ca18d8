import { errors, jsonBody, jsonResponse, pathParameter, ref } from './openapi-parts';

/** The OpenAPI paths of accounts, passwords, organization members, quotas and user settings. */
export const accountPaths = {
  '/accounts': {
    get: {
      tags: ['accounts'],
      summary: 'List accounts',
      responses: {
        200: jsonResponse('Accounts', {
          type: 'object',
          properties: { accounts: { type: 'array', items: ref('Account') } },
        }),
        ...errors(401),
      },
    },
    post: {
      tags: ['accounts'],
      summary: 'Create a user or organization (administrators)',
      requestBody: jsonBody('NewAccount', {
        name: 'alice',
        type: 'user',
        password: 'a-long-password',
      }),
      responses: { 201: jsonResponse('Created', ref('Account')), ...errors(400, 401, 403, 409) },
    },
  },
  '/accounts/{name}': {
    parameters: [pathParameter('name', 'Account name')],
    get: {
      tags: ['accounts'],
      summary: 'Get an account',
      responses: { 200: jsonResponse('Account', ref('Account')), ...errors(401, 404) },
    },
    patch: {
      tags: ['accounts'],
      summary:
        'Make a user an administrator, or no longer one (administrators; the last administrator cannot be demoted: 409)',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['isAdmin'],
              properties: { isAdmin: { type: 'boolean' } },
            },
            example: { isAdmin: true },
          },
        },
      },
      responses: {
        200: jsonResponse('Account', ref('Account')),
        ...errors(400, 401, 403, 404, 409, 415),
      },
    },
    delete: {
      tags: ['accounts'],
      summary:
        'Delete an account with its repositories (administrators; 409 for your own account, the last administrator or the last owner of an organization)',
      responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 409) },
    },
  },
  '/accounts/{name}/password': {
    parameters: [pathParameter('name', 'User name')],
    put: {
      tags: ['accounts'],
      summary:
        "Change a password (your own, giving the current one; anyone's as administrator). Tokens and grants issued before stop working, and the account's other web UI sessions end.",
      requestBody: jsonBody('PasswordChange', {
        password: 'a-new-long-password',
        currentPassword: 'the-old-password',
      }),
      responses: { 204: { description: 'Changed' }, ...errors(400, 401, 403, 404, 415, 429) },
    },
  },
  '/accounts/{organization}/members': {
    parameters: [pathParameter('organization', 'Organization name')],
    get: {
      tags: ['accounts'],
      summary: 'List organization members with their roles (members and administrators)',
      responses: {
        200: jsonResponse('Members', {
          type: 'object',
          properties: { members: { type: 'array', items: ref('Member') } },
        }),
        ...errors(401, 403, 404),
      },
    },
  },
  '/accounts/{organization}/members/{user}': {
    parameters: [
      pathParameter('organization', 'Organization name'),
      pathParameter('user', 'User name'),
    ],
    put: {
      tags: ['accounts'],
      summary:
        'Add a member, or change a role (owners and administrators). Without a body a new member gets the role "member".',
      requestBody: {
        required: false,
        content: {
          'application/json': { schema: ref('MembershipChange'), example: { role: 'owner' } },
        },
      },
      responses: {
        200: jsonResponse('Member', ref('Member')),
        ...errors(400, 401, 403, 404, 409, 415),
      },
    },
    delete: {
      tags: ['accounts'],
      summary:
        'Remove a member (owners and administrators; an organization cannot lose its last owner)',
      responses: { 204: { description: 'Removed' }, ...errors(401, 403, 404, 409) },
    },
  },
  '/accounts/{username}/settings': {
    parameters: [pathParameter('username', 'User name')],
    get: {
      tags: ['content caches'],
      summary: "A user's settings",
      responses: { 200: jsonResponse('Settings', ref('Settings')), ...errors(401, 403, 404) },
    },
    patch: {
      tags: ['content caches'],
      summary: "Choose a user's content cache (own settings, or any as administrator)",
      requestBody: jsonBody('Settings', { contentCache: 'region-us' }),
      responses: {
        200: jsonResponse('Settings', ref('Settings')),
        ...errors(400, 401, 403, 404),
      },
    },
  },
  '/accounts/{name}/quota': {
    parameters: [pathParameter('name', 'User or organization')],
    get: {
      tags: ['accounts'],
      summary:
        "A namespace's storage quota and use (the account itself, its members and administrators)",
      responses: { 200: jsonResponse('Quota', ref('Quota')), ...errors(401, 403, 404) },
    },
    put: {
      tags: ['accounts'],
      summary:
        "Set the account's own quota (administrators): limitBytes in bytes, or null for no limit",
      requestBody: jsonBody('QuotaChange', { limitBytes: 10737418240 }),
      responses: { 200: jsonResponse('Quota', ref('Quota')), ...errors(400, 401, 403, 404, 415) },
    },
    delete: {
      tags: ['accounts'],
      summary: 'Return the account to the default quota (quota.default) (administrators)',
      responses: { 200: jsonResponse('Quota', ref('Quota')), ...errors(401, 403, 404) },
    },
  },
} as const;
