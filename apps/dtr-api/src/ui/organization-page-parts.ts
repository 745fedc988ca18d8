import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Context } from 'koa';
import { html, type SafeHtml } from './html';
import { PageError } from './page-kit';

/** Rows on one page of the organizations, members and users lists. */
export const PAGE_SIZE = 50;

/** Longest search text (account names are at most 64 characters). */
const MAX_SEARCH = 64;

/** Where a list page starts, and what it searches for, from `?after=` and `?q=`. */
export interface ListQuery {
  readonly after: string | undefined;
  readonly search: string;
}

/**
 * The `?after=` and `?q=` of a list page (the first of each).
 * @throws PageError 400 for a search or a page name longer than an account name can be.
 */
export function listQueryOf(ctx: Context): ListQuery {
  const after = ctx.URL.searchParams.get('after') ?? '';
  const search = (ctx.URL.searchParams.get('q') ?? '').trim().toLowerCase();
  if (search.length > MAX_SEARCH || after.length > MAX_SEARCH)
    throw new PageError(
      400,
      'Search too long',
      `Names are at most ${MAX_SEARCH} characters: search for a part of one.`,
    );
  return { after: after === '' ? undefined : after, search };
}

/** "Next page" (after `next`) and, past the first page, "First page" links of list `path`. */
export function pager(path: string, query: ListQuery, next: string | undefined): SafeHtml {
  const link = (after: string | undefined) => {
    const params = new URLSearchParams();
    if (query.search !== '') params.set('q', query.search);
    if (after !== undefined) params.set('after', after);
    const text = params.toString();
    return text === '' ? path : `${path}?${text}`;
  };
  if (next === undefined && query.after === undefined) return html``;
  return html`<nav class="pager" aria-label="Pages">
    ${query.after !== undefined && html`<a href="${link(undefined)}">First page</a>`}
    ${next !== undefined && html`<a href="${link(next)}">Next page</a>`}
  </nav>`;
}

/** A search box over list `path` (GET `?q=`). */
export function searchForm(path: string, label: string, query: ListQuery): SafeHtml {
  return html`<form class="search" method="get" action="${path}" role="search">
    <label for="q">${label}</label>
    <div class="search-row">
      <input type="search" id="q" name="q" value="${query.search}" maxlength="64" />
      <button type="submit">Search</button>
    </div>
  </form>`;
}

/**
 * What went wrong in words for a notice: the operation's message, with the account name taken
 * and the reason a name is refused spelled out.
 */
export function reasonOf(error: RegistryError): string {
  const detail = (error.detail ?? {}) as {
    name?: unknown;
    reason?: unknown;
    organizations?: unknown;
  };
  if (Array.isArray(detail.organizations) && detail.organizations.length > 0)
    return `${error.message} (${detail.organizations.map(String).join(', ')})`;
  if (error.code === 'CONFLICT' && error.message === 'account already exists')
    return `the name "${String(detail.name)}" is taken by another user or organization`;
  if (error.code === 'NOT_FOUND' && error.message.startsWith('no such ') && detail.name)
    return `there is no ${error.message.slice('no such '.length)} named "${String(detail.name)}"`;
  return typeof detail.reason === 'string' ? `${error.message} (${detail.reason})` : error.message;
}

/** The {@link PageError} of an operation's refusal: its status, `title` and its reason. */
export function pageErrorOf(error: RegistryError, title: string): PageError {
  const reason = reasonOf(error);
  return new PageError(error.status, title, `${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`);
}

/** Runs `operation`; a {@link RegistryError} it throws is returned instead. */
export async function attempt<T>(operation: () => Promise<T>): Promise<T | RegistryError> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof RegistryError) return error;
    throw error;
  }
}
