/** An authentication challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface AuthChallenge {
  /** The scheme, lower-cased (`bearer`, `basic`). */
  readonly scheme: string;
  /** Auth parameters with lower-cased names. */
  readonly params: Readonly<Record<string, string>>;
}

/** The parameters of a registry token-auth Bearer challenge. */
export interface BearerChallenge {
  realm: string;
  service?: string;
  /** Space-separated scopes, e.g. `repository:library/alpine:pull`. */
  scope?: string;
  /** RFC 6750 error, e.g. `insufficient_scope` or `invalid_token`. */
  error?: string;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

/** Formats `Bearer realm="…",service="…",scope="…"` with proper quoting and escaping. */
export function formatBearerChallenge(challenge: BearerChallenge): string {
  const params: string[] = [`realm=${quote(challenge.realm)}`];
  if (challenge.service !== undefined) params.push(`service=${quote(challenge.service)}`);
  if (challenge.scope !== undefined) params.push(`scope=${quote(challenge.scope)}`);
  if (challenge.error !== undefined) params.push(`error=${quote(challenge.error)}`);
  return `Bearer ${params.join(',')}`;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*/y;
const SPACE = /[ \t]*/y;

/**
 * Parses every challenge of a `WWW-Authenticate` header value. Quoted strings may contain commas
 * and escaped quotes. Malformed trailing input ends parsing; what was parsed so far is returned.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let position = 0;
  const skip = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = position;
    const match = pattern.exec(header);
    if (!match) return undefined;
    position = pattern.lastIndex;
    return match[0];
  };
  const skipSeparators = () => {
    while (position < header.length && /[\s,]/.test(header[position] as string)) position += 1;
  };
  const readQuoted = (): string | undefined => {
    if (header[position] !== '"') return undefined;
    let value = '';
    position += 1;
    while (position < header.length) {
      const char = header[position] as string;
      if (char === '\\' && position + 1 < header.length) {
        value += header[position + 1];
        position += 2;
      } else if (char === '"') {
        position += 1;
        return value;
      } else {
        value += char;
        position += 1;
      }
    }
    return undefined;
  };

  skipSeparators();
  while (position < header.length) {
    const scheme = skip(TOKEN);
    if (!scheme) break;
    const params: Record<string, string> = {};
    skip(SPACE);
    for (;;) {
      const start = position;
      skip(SPACE);
      const name = skip(TOKEN);
      skip(SPACE);
      if (!name || header[position] !== '=') {
        position = start;
        break;
      }
      position += 1;
      skip(SPACE);
      const value = header[position] === '"' ? readQuoted() : skip(TOKEN);
      if (value === undefined) {
        position = header.length;
        break;
      }
      params[name.toLowerCase()] = value;
      skip(SPACE);
      if (header[position] !== ',') break;
      position += 1;
    }
    if (Object.keys(params).length === 0) skip(TOKEN68);
    challenges.push({ scheme: scheme.toLowerCase(), params });
    skipSeparators();
  }
  return challenges;
}

/** The first Bearer challenge of a header value, or undefined if there is none with a realm. */
export function parseBearerChallenge(header: string): BearerChallenge | undefined {
  const bearer = parseAuthChallenges(header).find((challenge) => challenge.scheme === 'bearer');
  const realm = bearer?.params['realm'];
  if (!bearer || realm === undefined) return undefined;
  const challenge: BearerChallenge = { realm };
  const { service, scope, error } = bearer.params;
  if (service !== undefined) challenge.service = service;
  if (scope !== undefined) challenge.scope = scope;
  if (error !== undefined) challenge.error = error;
  return challenge;
}
