import { RegistryError } from './registry-error';

/** One resource scope of the registry token specification, e.g. `repository:app/web:pull,push`. */
export interface AccessScope {
  /** `repository` or `registry`. */
  readonly type: string;
  /** The resource name: a repository name, or `catalog`. */
  readonly name: string;
  /** Requested actions (`pull`, `push`, `delete`, `*`). */
  readonly actions: readonly string[];
}

const SCOPE_TYPE = /^[a-z0-9]+(?:\([a-z0-9]+\))?$/;
const ACTION = /^[a-z*]+$/;

/**
 * Parses one scope `type:name:actions`. The name may itself contain colons (a `host:port/` prefix),
 * so the type ends at the first colon and the actions start after the last one.
 * @throws RegistryError `INVALID_REQUEST` for a malformed scope.
 */
export function parseAccessScope(text: string): AccessScope {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first || last === text.length - 1) {
    throw new RegistryError('INVALID_REQUEST', 'invalid scope', {
      detail: { scope: text, reason: 'expected type:name:actions' },
    });
  }
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(',');
  if (!SCOPE_TYPE.test(type) || name === '' || !actions.every((action) => ACTION.test(action))) {
    throw new RegistryError('INVALID_REQUEST', 'invalid scope', {
      detail: { scope: text, reason: 'expected type:name:actions' },
    });
  }
  return { type, name, actions: [...new Set(actions)] };
}

/** Parses a space-separated scope list (one `scope` parameter may hold several). */
export function parseAccessScopes(text: string): AccessScope[] {
  return text
    .split(' ')
    .filter((part) => part !== '')
    .map(parseAccessScope);
}

/** Formats a scope as `type:name:action,action`. */
export function formatAccessScope(scope: AccessScope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}
