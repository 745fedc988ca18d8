import { accountPaths } from './openapi-accounts';
import { cacheDashboardPaths } from './openapi-cache-dashboard';
import { MAX_CACHE_MEMBERS, MAX_CACHE_NETWORKS } from '../store/content-cache-store';
import {
  errorEnvelopeSchema,
  errors,
  jsonBody,
  jsonResponse,
  pathParameter,
  ref,
} from './openapi-parts';

/** The members and networks of a cache, as a registration or a change gives them. */
const cacheMembersAndNetworks = {
  hosts: {
    type: 'array',
    minItems: 1,
    maxItems: MAX_CACHE_MEMBERS,
    items: { type: 'string', format: 'uri' },
  },
  networks: { type: 'array', maxItems: MAX_CACHE_NETWORKS, items: { type: 'string' } },
} as const;

/** The OpenAPI 3 description of `/api/v0`, served at `/api/v0/openapi.json`. */
export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'DTR API',
    version: 'v0',
    description:
      'Accounts, organizations, repositories, content caches and user settings of the origin registry. Authenticate with HTTP Basic, a registry bearer token, or — in a browser signed in to the web UI — the session cookie, in which case changes must send the session CSRF token in the X-CSRF-Token header (this page does). Errors use the registry error envelope.',
  },
  servers: [{ url: '/api/v0' }],
  security: [{ basicAuth: [] }, { bearerAuth: [] }],
  tags: [{ name: 'accounts' }, { name: 'repositories' }, { name: 'content caches' }],
  paths: {
    ...accountPaths,
    ...cacheDashboardPaths,
    '/repositories': {
      get: {
        tags: ['repositories'],
        summary: 'Repositories visible to the caller',
        security: [],
        responses: {
          200: jsonResponse('Repositories', {
            type: 'object',
            properties: { repositories: { type: 'array', items: ref('Repository') } },
          }),
        },
      },
    },
    '/repositories/{namespace}': {
      parameters: [pathParameter('namespace', 'User or organization')],
      get: {
        tags: ['repositories'],
        summary: 'Repositories of a namespace visible to the caller',
        responses: {
          200: jsonResponse('Repositories', {
            type: 'object',
            properties: { repositories: { type: 'array', items: ref('Repository') } },
          }),
          ...errors(404),
        },
      },
      post: {
        tags: ['repositories'],
        summary: 'Create a repository',
        requestBody: jsonBody('NewRepository', { name: 'web', visibility: 'private' }),
        responses: {
          201: jsonResponse('Created', ref('Repository')),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    '/repositories/{namespace}/{name}': {
      parameters: [
        pathParameter('namespace', 'User or organization'),
        pathParameter('name', 'Repository name'),
      ],
      get: {
        tags: ['repositories'],
        summary: 'Get a repository',
        responses: { 200: jsonResponse('Repository', ref('Repository')), ...errors(404) },
      },
      patch: {
        tags: ['repositories'],
        summary: 'Change visibility',
        requestBody: jsonBody('RepositoryChange', { visibility: 'public' }),
        responses: {
          200: jsonResponse('Repository', ref('Repository')),
          ...errors(400, 401, 403, 404),
        },
      },
      delete: {
        tags: ['repositories'],
        summary: 'Delete a repository',
        responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404) },
      },
    },
    '/content_caches': {
      get: {
        tags: ['content caches'],
        summary: 'List content caches with their members and health (any signed-in user)',
        description:
          'Readable by every signed-in user, administrator or not: a client that routes its blob requests with the X-Content-Cache-Route header (`<cache>` or `<cache>; member=<url>`) finds the cache names and member URLs here.',
        responses: {
          200: jsonResponse('Content caches', {
            type: 'object',
            properties: { contentCaches: { type: 'array', items: ref('ContentCache') } },
          }),
          ...errors(401),
        },
      },
      post: {
        tags: ['content caches'],
        summary:
          'Register a content cache, one host or a group of hosts (administrators); a host may be a member of one cache only (409)',
        requestBody: jsonBody('NewContentCache', {
          name: 'region-us',
          hosts: ['https://cache-1.example.com:5000', 'https://cache-2.example.com:5000'],
          networks: ['10.20.0.0/16'],
        }),
        responses: {
          201: jsonResponse('Registered', ref('ContentCache')),
          ...errors(400, 401, 403, 409),
        },
      },
    },
    '/content_caches/{id}': {
      parameters: [pathParameter('id', 'Content cache id', 'integer')],
      get: {
        tags: ['content caches'],
        summary: 'Get a content cache',
        responses: { 200: jsonResponse('Content cache', ref('ContentCache')), ...errors(401, 404) },
      },
      patch: {
        tags: ['content caches'],
        summary:
          'Change the members (the whole list: add and remove) and/or the networks of a content cache (administrators)',
        requestBody: jsonBody('ContentCacheChange', {
          hosts: ['https://cache-1.example.com:5000', 'https://cache-3.example.com:5000'],
        }),
        responses: {
          200: jsonResponse('Changed', ref('ContentCache')),
          ...errors(400, 401, 403, 404, 409),
        },
      },
      delete: {
        tags: ['content caches'],
        summary:
          'Delete a content cache (the users who chose it get the cache of their network again)',
        responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404) },
      },
    },
  },
  components: {
    securitySchemes: {
      basicAuth: { type: 'http', scheme: 'basic' },
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    },
    schemas: {
      ErrorEnvelope: errorEnvelopeSchema,
      Account: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          name: { type: 'string' },
          type: { type: 'string', enum: ['user', 'organization'] },
          isAdmin: { type: 'boolean' },
          createdAt: { type: 'string', format: 'date-time' },
        },
      },
      Member: {
        allOf: [
          ref('Account'),
          {
            type: 'object',
            properties: {
              role: {
                type: 'string',
                enum: ['owner', 'member'],
                description:
                  'Members use the organization repositories; owners also change its membership.',
              },
            },
          },
        ],
      },
      MembershipChange: {
        type: 'object',
        properties: { role: { type: 'string', enum: ['owner', 'member'] } },
      },
      PasswordChange: {
        type: 'object',
        required: ['password'],
        properties: {
          password: { type: 'string', minLength: 8 },
          currentPassword: {
            type: 'string',
            description: 'Required when changing your own password.',
          },
        },
      },
      Quota: {
        type: 'object',
        properties: {
          namespace: { type: 'string' },
          limitBytes: {
            type: 'integer',
            nullable: true,
            description: 'The quota in bytes; null: no limit.',
          },
          source: {
            type: 'string',
            enum: ['account', 'default', 'none'],
            description:
              "The account's own limit, the configured default (quota.default), or none at all.",
          },
          usedBytes: {
            type: 'integer',
            description:
              'Distinct blobs and manifests of its repositories, each counted once, plus its uploads in progress.',
          },
        },
      },
      QuotaChange: {
        type: 'object',
        required: ['limitBytes'],
        properties: { limitBytes: { type: 'integer', nullable: true, minimum: 0 } },
      },
      NewAccount: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string' },
          type: { type: 'string', enum: ['user', 'organization'] },
          isOrg: { type: 'boolean' },
          password: { type: 'string', minLength: 8 },
          isAdmin: { type: 'boolean' },
        },
      },
      Repository: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          namespace: { type: 'string' },
          namespaceType: { type: 'string' },
          name: { type: 'string' },
          fullName: { type: 'string' },
          visibility: { type: 'string', enum: ['public', 'private'] },
          createdAt: { type: 'string' },
        },
      },
      NewRepository: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string' },
          visibility: { type: 'string', enum: ['public', 'private'] },
        },
      },
      RepositoryChange: {
        type: 'object',
        required: ['visibility'],
        properties: { visibility: { type: 'string', enum: ['public', 'private'] } },
      },
      Health: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['unknown', 'healthy', 'unhealthy'] },
          checkedAt: { type: 'string', nullable: true },
          error: { type: 'string', nullable: true },
        },
      },
      ContentCache: {
        type: 'object',
        description:
          'A content cache: a group of 1 to 32 hosts. DTR sends each blob to one healthy member, chosen by rendezvous hashing of its digest (the same member while it is healthy).',
        properties: {
          id: { type: 'integer' },
          name: { type: 'string' },
          host: { type: 'string', format: 'uri', description: 'The first member.' },
          hosts: { type: 'array', items: { type: 'string', format: 'uri' } },
          networks: {
            type: 'array',
            items: { type: 'string' },
            description:
              'Client networks (CIDR): users without a setting whose address is in one pull through this cache; the longest prefix wins.',
          },
          createdAt: { type: 'string' },
          health: { ...ref('Health'), description: 'Healthy while any member is.' },
          members: {
            type: 'array',
            items: {
              type: 'object',
              properties: { host: { type: 'string', format: 'uri' }, health: ref('Health') },
            },
          },
        },
      },
      NewContentCache: {
        type: 'object',
        required: ['name'],
        description: 'Give host (one member) or hosts, not both.',
        properties: {
          name: { type: 'string', example: 'region-us' },
          host: { type: 'string', format: 'uri', example: 'http://cache.example.com:5000' },
          ...cacheMembersAndNetworks,
        },
      },
      ContentCacheChange: {
        type: 'object',
        description: 'host or hosts (the whole new list of members), and/or networks.',
        properties: {
          host: { type: 'string', format: 'uri' },
          ...cacheMembersAndNetworks,
        },
      },
      Settings: {
        type: 'object',
        properties: {
          contentCache: {
            type: 'string',
            description:
              'Name of the chosen content cache; "" for no cache (pull from DTR). In a change, omit it and send contentCacheChoice "automatic" for the cache of your network.',
          },
          contentCacheChoice: {
            type: 'string',
            enum: ['cache', 'none', 'automatic'],
            description:
              'What the user chose; automatic: the cache whose networks contain their address.',
          },
          pullsGoTo: {
            type: 'object',
            readOnly: true,
            description: "Where blob pulls from this request's address go now, and why.",
            properties: {
              contentCache: { type: 'string', nullable: true },
              reason: { type: 'string', enum: ['chosen', 'network', 'none', 'no-network'] },
              healthy: { type: 'boolean', nullable: true },
            },
          },
        },
      },
    },
  },
} as const;
