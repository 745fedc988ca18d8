import { STATUS_CODES } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { Headers, parseErrorEnvelope } from '@dtr-cache/registry-protocol';
import { CliError, EXIT_FAILED } from './cli-error';

/** DTR's API path listing the content caches (any signed-in user may read it). */
export const CONTENT_CACHES_PATH = '/api/v0/content_caches';
const BODY_LIMIT = 4 * 1024 * 1024;

/** A registered content cache: its name and its members' base URLs (a group has several). */
export interface RegisteredCache {
  readonly name: string;
  readonly members: readonly string[];
}

/** Where and as whom to ask. */
export interface DtrAccess {
  readonly dtr: string;
  readonly user: string;
  readonly password: string;
  readonly cas: readonly Buffer[];
  readonly timeoutMs: number;
}

const failed = (message: string) => new CliError(message, EXIT_FAILED);

function get(access: DtrAccess, url: URL): Promise<{ status: number; body: Buffer }> {
  const secure = url.protocol === 'https:';
  const authorization = `Basic ${Buffer.from(`${access.user}:${access.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const outgoing = (secure ? httpsRequest : httpRequest)(
      url,
      {
        agent: false,
        headers: { [Headers.authorization]: authorization, [Headers.accept]: 'application/json' },
        timeout: access.timeoutMs,
        ...(secure && access.cas.length > 0 ? { ca: [...rootCertificates, ...access.cas] } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > BODY_LIMIT) outgoing.destroy(new Error('the answer is too large'));
          else chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`no answer for ${access.timeoutMs / 1000} s`)),
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The content caches registered in DTR (`GET /api/v0/content_caches` as the user), in DTR's order.
 * @throws CliError (exit 1): DTR unreachable, wrong credentials, or not DTR's answer.
 */
export async function listContentCaches(access: DtrAccess): Promise<RegisteredCache[]> {
  let answer: { status: number; body: Buffer };
  try {
    answer = await get(access, new URL(`${access.dtr}${CONTENT_CACHES_PATH}`));
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const tls = typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED/.test(code);
    throw failed(
      `DTR ${access.dtr} is unreachable: ${message ?? String(error)}${tls ? ' (pass its CA with --ca)' : ''}`,
    );
  }
  const json = parseJson(answer.body);
  if (answer.status === 401) throw failed(`wrong credentials for ${access.user} at ${access.dtr}`);
  if (answer.status === 429)
    throw failed(`too many failed sign-ins for ${access.user} at ${access.dtr}; wait and retry`);
  if (answer.status !== 200) {
    const refusal = parseErrorEnvelope(json);
    const reason = refusal
      ? `${refusal.code}: ${refusal.message}`
      : (STATUS_CODES[answer.status] ?? 'an error');
    throw failed(
      `DTR ${access.dtr} refused the list of content caches to ${access.user}: ${answer.status} ${reason}`,
    );
  }
  const list = (json as { contentCaches?: unknown } | undefined)?.contentCaches;
  if (!Array.isArray(list))
    throw failed(`${access.dtr} is not DTR: GET ${CONTENT_CACHES_PATH} has no contentCaches`);
  return list.map((entry: { name?: unknown; hosts?: unknown; host?: unknown }) => {
    const hosts = Array.isArray(entry.hosts) ? entry.hosts : [entry.host];
    if (typeof entry.name !== 'string' || !hosts.every((host) => typeof host === 'string'))
      throw failed(`${access.dtr} listed a content cache without a name or members`);
    return { name: entry.name, members: hosts as string[] };
  });
}
