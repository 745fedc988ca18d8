import { errors, jsonResponse, pathParameter } from './openapi-parts';

const count = { type: 'integer', minimum: 0 };
const nullableCount = { type: 'integer', minimum: 0, nullable: true };
const health = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['healthy', 'unhealthy', 'unknown'] },
    reason: { type: 'string', example: 'Unhealthy: timeout' },
    checkedAt: { type: 'string', format: 'date-time', nullable: true },
  },
};
/** A content cache's stats answer (`GET /api/v0/stats` on the cache, for DTR only). */
const cacheStats = {
  type: 'object',
  nullable: true,
  description: "The member's stats as it last answered them: counters since it started.",
  properties: {
    version: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    requests: {
      type: 'object',
      properties: { hit: count, miss: count, coalesced: count, denied: count, error: count },
    },
    bytesServed: count,
    bytesFetched: count,
    fills: { type: 'object', properties: { committed: count, failed: count, inFlight: count } },
    disk: {
      type: 'object',
      properties: { usedBytes: nullableCount, limitBytes: nullableCount, blobs: nullableCount },
    },
    upstreams: { type: 'array', items: { type: 'string', format: 'uri' } },
  },
};

/** The OpenAPI path of a cache's live dashboard (administrators). */
export const cacheDashboardPaths = {
  '/content_caches/{id}/stats': {
    parameters: [pathParameter('id', 'Content cache id', 'integer')],
    get: {
      tags: ['content caches'],
      summary: "A content cache's live dashboard (administrators)",
      description:
        "What the Content Caches pages show: health with its reason in words, the members' latest stats (DTR samples every member once per `contentcaches.sampling.interval` with a credential signed by its grant key), hit ratio, bytes served and fetched from upstream, disk used and limit, fills in flight, users whose setting names the cache, pulls sent to it by setting and by network match, and the last hour per interval. `display` holds the same numbers in words and `chart` the geometry of the page's chart (what the page's live refresh reads).",
      responses: {
        200: jsonResponse('The dashboard', {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            name: { type: 'string' },
            health,
            intervalSeconds: { type: 'number' },
            usersBySetting: count,
            pulls: { type: 'object', properties: { bySetting: count, byNetwork: count } },
            members: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  host: { type: 'string' },
                  health,
                  sampledAt: { type: 'string', format: 'date-time', nullable: true },
                  sampleError: {
                    type: 'string',
                    nullable: true,
                    example: 'timeout',
                    description: 'Why the last sample failed (null: it succeeded).',
                  },
                  stats: cacheStats,
                  hitRatio: { type: 'number', nullable: true, minimum: 0, maximum: 1 },
                },
              },
            },
            totals: {
              type: 'object',
              properties: {
                hitRatio: { type: 'number', nullable: true },
                bytesServed: count,
                bytesFetched: count,
                diskUsedBytes: nullableCount,
                diskLimitBytes: nullableCount,
                fillsInFlight: count,
              },
            },
            series: {
              type: 'array',
              description: 'The last hour, one point per sampled interval, oldest first.',
              items: {
                type: 'object',
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  bytesServed: count,
                  bytesFetched: count,
                  hitRatio: { type: 'number', nullable: true },
                },
              },
            },
            networks: { type: 'array', items: { type: 'string' } },
            display: { type: 'object', additionalProperties: true },
            chart: { type: 'object', additionalProperties: true },
          },
        }),
        ...errors(401, 403, 404),
      },
    },
  },
};
