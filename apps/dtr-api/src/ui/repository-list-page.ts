import type { RepositorySummary } from '../store/repository-store';
import { html, type SafeHtml } from './html';
import { formatTime } from './format';
import { pager } from './repository-pager';
import { type ListQuery, listUrl, REPOSITORY_PAGE_SIZE, repositoryPath } from './repository-query';
import { layout, type Notice, notices, type Viewer } from './ui-pages';

/** A repository's visibility as a badge. */
export function visibilityBadge(visibility: 'public' | 'private'): SafeHtml {
  return html`<span class="badge ${visibility}">${visibility}</span>`;
}

/** The search box and the namespace and visibility filters (a GET form: links can be shared). */
function filterForm(query: ListQuery, namespaces: readonly string[]): SafeHtml {
  // A namespace typed into the URL stays selectable even when it has no repositories to show.
  const choices =
    query.namespace !== '' && !namespaces.includes(query.namespace)
      ? [query.namespace, ...namespaces]
      : namespaces;
  return html`<form class="card filters" method="get" action="/repositories" role="search">
    <div class="field">
      <label for="q">Search</label>
      <input
        type="search"
        id="q"
        name="q"
        value="${query.search}"
        maxlength="200"
        placeholder="Part of a name"
      />
    </div>
    <div class="field">
      <label for="namespace">Namespace</label>
      <select id="namespace" name="namespace">
        <option value="" ${query.namespace === '' && html`selected`}>All namespaces</option>
        ${choices.map(
          (name) =>
            html`<option value="${name}" ${query.namespace === name && html`selected`}>
              ${name}
            </option>`,
        )}
      </select>
    </div>
    <div class="field">
      <label for="visibility">Visibility</label>
      <select id="visibility" name="visibility">
        ${(['all', 'public', 'private'] as const).map(
          (value) =>
            html`<option value="${value}" ${query.visibility === value && html`selected`}>
              ${value === 'all' ? 'All' : value === 'public' ? 'Public' : 'Private'}
            </option>`,
        )}
      </select>
    </div>
    <div class="field filter-buttons">
      <button class="primary" type="submit">Filter</button>
      <a href="/repositories">Clear</a>
    </div>
  </form>`;
}

/** What to say when the list is empty: how to push the first image, or that nothing matches. */
function emptyState(viewer: Viewer, query: ListQuery, host: string): SafeHtml {
  const name = viewer.account.name;
  const ownNamespace = query.namespace === '' || query.namespace === name;
  if (query.search !== '' || query.visibility !== 'all' || !ownNamespace)
    return html`<p class="empty">
      No repositories match these filters. <a href="/repositories">Show all repositories</a>.
    </p>`;
  return html`<p class="empty">
      No repositories yet. Pushing an image creates its repository (private until you make it
      public), for example:
    </p>
    <pre class="command wrap">
docker login ${host} -u ${name}
docker tag my-image ${host}/${name}/my-image:latest
docker push ${host}/${name}/my-image:latest</pre>`;
}

function repositoryTable(repositories: readonly RepositorySummary[]): SafeHtml {
  return html`<table class="repositories">
    <thead>
      <tr>
        <th>Repository</th>
        <th>Visibility</th>
        <th class="number">Tags</th>
        <th>Last pushed</th>
      </tr>
    </thead>
    <tbody>
      ${repositories.map(
        (repository) =>
          html`<tr>
            <td>
              <a class="repository-name" href="${repositoryPath(repository.fullName)}"
                >${repository.fullName}</a
              >
            </td>
            <td>${visibilityBadge(repository.visibility)}</td>
            <td class="number">${repository.tagCount}</td>
            <td class="when">
              ${repository.lastPushedAt ? formatTime(repository.lastPushedAt) : 'never'}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** `/repositories`: the repositories the viewer may see, searched, filtered and paged. */
export function repositoryListPage(options: {
  viewer: Viewer;
  query: ListQuery;
  namespaces: readonly string[];
  repositories: readonly RepositorySummary[];
  total: number;
  /** The registry host for the example commands. */
  host: string;
  notices: readonly Notice[];
}): string {
  const { viewer, query, repositories, total } = options;
  return layout({
    title: 'Repositories',
    viewer,
    section: 'repositories',
    body: html`<h1>Repositories</h1>
      <p class="subtitle">
        ${
          viewer.account.isAdmin
            ? 'As an administrator, you see every repository.'
            : 'Public repositories, yours, and those of your organizations.'
        }
      </p>
      ${notices(options.notices)} ${filterForm(query, options.namespaces)}
      <div class="card">
        ${
          repositories.length === 0 && query.page === 1
            ? emptyState(viewer, query, options.host)
            : html`${repositoryTable(repositories)}
              ${pager({
                page: query.page,
                pageSize: REPOSITORY_PAGE_SIZE,
                total,
                urlOf: (page) => listUrl(query, page),
                noun: 'repositories',
              })}`
        }
      </div>`,
  });
}
