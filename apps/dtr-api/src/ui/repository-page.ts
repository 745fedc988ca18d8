import type { Repository } from '../store/repository-store';
import { html, type SafeHtml } from './html';
import { formatTime } from './format';
import { pullCommands } from './repository-format';
import { visibilityBadge } from './repository-list-page';
import { pager } from './repository-pager';
import { repositoryPath, TAG_PAGE_SIZE } from './repository-query';
import type { TagDetails } from './repository-tag-details';
import { tagsTable } from './repository-tags-table';
import { csrfField, layout, type Notice, notices, type Viewer } from './ui-pages';

/** What the viewer may do to the repository (see `repositoryPermissions`). */
export interface RepositoryActions {
  readonly changeVisibility: boolean;
  readonly deleteRepository: boolean;
  readonly deleteTags: boolean;
}

function factsCard(
  repository: Repository,
  activity: { tagCount: number; lastPushedAt: string | undefined },
): SafeHtml {
  return html`<div class="card">
    <h2>About</h2>
    <dl class="facts">
      <dt>Visibility</dt>
      <dd>
        ${visibilityBadge(repository.visibility)}
        ${
          repository.visibility === 'public'
            ? 'Anyone can pull it.'
            : `Only ${repository.namespaceKind === 'organization' ? 'members of' : ''} ${repository.namespace} and administrators can pull it.`
        }
      </dd>
      <dt>Owner</dt>
      <dd>
        <a href="/repositories?namespace=${repository.namespace}">${repository.namespace}</a>
        (${repository.namespaceKind === 'organization' ? 'organization' : 'user'})
      </dd>
      <dt>Created</dt>
      <dd>${formatTime(repository.createdAt)}</dd>
      <dt>Last pushed</dt>
      <dd>${formatTime(activity.lastPushedAt)}</dd>
      <dt>Tags</dt>
      <dd>${activity.tagCount}</dd>
    </dl>
  </div>`;
}

function pullCard(options: {
  viewer: Viewer;
  repository: Repository;
  host: string;
  tag: string | undefined;
  readOnly: boolean;
}): SafeHtml {
  const { viewer, repository, host, tag, readOnly } = options;
  if (tag === undefined && readOnly)
    return html`<div class="card" id="pull">
      <h2>Pull</h2>
      <p class="empty">This repository has no tags, and pushes wait until read-only mode ends.</p>
    </div>`;
  if (tag === undefined)
    return html`<div class="card" id="pull">
      <h2>Push an image</h2>
      <p class="empty">This repository has no tags yet. Push one, for example:</p>
      <pre class="command wrap">
docker login ${host} -u ${viewer.account.name}
docker tag my-image ${host}/${repository.fullName}:latest
docker push ${host}/${repository.fullName}:latest</pre>
    </div>`;
  const commands = pullCommands({
    host,
    repository: repository.fullName,
    tag,
    username: viewer.account.name,
  });
  return html`<div class="card" id="pull">
    <h2>Pull <code>${repository.fullName}:${tag}</code></h2>
    <p class="hint wrap-anywhere">
      Choose another tag with its Pull link below. ctr reads the registry's CA certificate from
      <code>/etc/containerd/certs.d/${host}/</code>; docker from
      <code>/etc/docker/certs.d/${host}/ca.crt</code>.
    </p>
    <div class="pull-commands">
      ${commands.map(
        ({ client, command }) =>
          html`<div class="pull-command">
            <h3>${client}</h3>
            <pre class="command wrap" data-client="${client}">${command}</pre>
          </div>`,
      )}
    </div>
  </div>`;
}

function ownerCards(viewer: Viewer, repository: Repository, actions: RepositoryActions): SafeHtml {
  const path = repositoryPath(repository.fullName);
  const other = repository.visibility === 'public' ? 'private' : 'public';
  return html`${
    actions.changeVisibility &&
    html`<form class="card" method="post" action="${path}/visibility">
      <h2>Visibility</h2>
      ${csrfField(viewer)}
      <input type="hidden" name="visibility" value="${other}" />
      <p>
        This repository is <strong>${repository.visibility}</strong>.
        ${
          other === 'public'
            ? 'Making it public lets anyone pull it, without signing in.'
            : `Making it private lets only its owners and administrators pull it.`
        }
      </p>
      <button class="primary" type="submit">Make ${other}</button>
    </form>`
  }
  ${
    actions.deleteRepository &&
    html`<div class="card danger-zone">
      <h2>Delete this repository</h2>
      <p>Deletes every tag and manifest of <strong>${repository.fullName}</strong>.</p>
      <a class="button danger" href="${path}/delete">Delete repository…</a>
    </div>`
  }`;
}

/** `/repositories/:namespace/:name`: facts, pull commands, tags, and the owners' actions. */
export function repositoryPage(options: {
  viewer: Viewer;
  repository: Repository;
  activity: { tagCount: number; lastPushedAt: string | undefined };
  tags: readonly TagDetails[];
  page: number;
  /** The tag of the pull commands (undefined: the repository has none). */
  chosenTag: string | undefined;
  host: string;
  actions: RepositoryActions;
  /** `storage.maintenance.readonly`: pulls only. */
  readOnly: boolean;
  notices: readonly Notice[];
}): string {
  const { viewer, repository, activity, actions, page } = options;
  return layout({
    title: repository.fullName,
    viewer,
    section: 'repositories',
    body: html`<p class="crumbs"><a href="/repositories">Repositories</a> /</p>
      <h1 class="wrap-anywhere">
        ${repository.fullName} ${visibilityBadge(repository.visibility)}
      </h1>
      <p class="subtitle">
        ${repository.namespaceKind === 'organization' ? 'Organization' : 'User'} repository
      </p>
      ${notices(options.notices)}
      ${
        options.readOnly &&
        html`<div class="notice warn" role="status">
          The registry is in read-only mode for maintenance: pulls work; pushes and deletes are
          refused until it ends.
        </div>`
      }
      ${factsCard(repository, activity)}
      ${pullCard({
        viewer,
        repository,
        host: options.host,
        tag: options.chosenTag,
        readOnly: options.readOnly,
      })}
      <div class="card">
        <h2>Tags</h2>
        ${
          activity.tagCount === 0
            ? html`<p class="empty">No tags.</p>`
            : html`${tagsTable({
                repository,
                tags: options.tags,
                chosen: options.chosenTag,
                page,
                canDelete: actions.deleteTags,
              })}
              ${pager({
                page,
                pageSize: TAG_PAGE_SIZE,
                total: activity.tagCount,
                urlOf: (n) => `${repositoryPath(repository.fullName)}${n > 1 ? `?page=${n}` : ''}`,
                noun: 'tags',
              })}`
        }
      </div>
      ${ownerCards(viewer, repository, actions)}`,
  });
}
