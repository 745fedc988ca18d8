import { isValidTag } from '@dtr-cache/registry-protocol';
import { ACCOUNT_NAME_PATTERN } from '../store/account-store';
import { PageError } from './page-kit';

/** Repositories per page of the list. */
export const REPOSITORY_PAGE_SIZE = 50;
/** Tags per page of a repository. */
export const TAG_PAGE_SIZE = 25;
/** The longest search accepted (repository names are at most 64 + 1 + 128 characters). */
export const MAX_SEARCH_LENGTH = 200;
/** The highest page number accepted. */
export const MAX_PAGE = 100_000;

/** The visibility filter: all repositories, or only public or private ones. */
export type VisibilityFilter = 'all' | 'public' | 'private';

/** The repository list's filters and page, from its URL. */
export interface ListQuery {
  /** Lower-case substring of `namespace/name`; "" for none. */
  readonly search: string;
  /** "" for every namespace. */
  readonly namespace: string;
  readonly visibility: VisibilityFilter;
  /** 1-based. */
  readonly page: number;
}

type Query = Readonly<Record<string, string | string[] | undefined>>;

/** A query parameter's (first) value, "" if absent. */
function parameter(query: Query, name: string): string {
  const value = query[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function badFilter(message: string): PageError {
  return new PageError(400, 'Bad request', message);
}

/** The 1-based page number of `?page=` ("" is page 1). @throws PageError 400 otherwise. */
export function pageNumber(query: Query): number {
  const text = parameter(query, 'page');
  if (text === '') return 1;
  const page = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(page >= 1 && page <= MAX_PAGE))
    throw badFilter(`The page must be a number from 1 to ${MAX_PAGE}.`);
  return page;
}

/** The list's filters and page. @throws PageError 400 for values no link produces. */
export function parseListQuery(query: Query): ListQuery {
  const search = parameter(query, 'q').trim().toLowerCase();
  if (search.length > MAX_SEARCH_LENGTH)
    throw badFilter(`The search may have at most ${MAX_SEARCH_LENGTH} characters.`);
  const namespace = parameter(query, 'namespace').trim();
  if (namespace !== '' && !ACCOUNT_NAME_PATTERN.test(namespace))
    throw badFilter('The namespace filter must be a user or organization name.');
  const visibility = parameter(query, 'visibility') || 'all';
  if (visibility !== 'all' && visibility !== 'public' && visibility !== 'private')
    throw badFilter('The visibility filter must be all, public or private.');
  return { search, namespace, visibility, page: pageNumber(query) };
}

/** The list's URL with `query`'s filters at `page` (default filters are left out). */
export function listUrl(query: ListQuery, page: number): string {
  const parameters = new URLSearchParams();
  if (query.search !== '') parameters.set('q', query.search);
  if (query.namespace !== '') parameters.set('namespace', query.namespace);
  if (query.visibility !== 'all') parameters.set('visibility', query.visibility);
  if (page > 1) parameters.set('page', String(page));
  const text = parameters.toString();
  return text === '' ? '/repositories' : `/repositories?${text}`;
}

/** The tag `?tag=` names, "" if none. @throws PageError 400 for a value that is not a tag. */
export function chosenTag(query: Query): string {
  const tag = parameter(query, 'tag');
  if (tag !== '' && !isValidTag(tag)) throw badFilter('That is not a valid tag name.');
  return tag;
}

/** The path of a repository page (`namespace/name` are URL-safe by their patterns). */
export function repositoryPath(fullName: string): string {
  return `/repositories/${fullName}`;
}

/** The path of a tag's delete confirmation (tags are URL-safe by their pattern). */
export function tagDeletePath(fullName: string, tag: string): string {
  return `${repositoryPath(fullName)}/tags/${tag}/delete`;
}
