import type { Repository } from '../store/repository-store';
import { html, type SafeHtml } from './html';
import { formatBytes, formatTime } from './format';
import { shortDigest } from './repository-format';
import { repositoryPath, tagDeletePath } from './repository-query';
import type { TagDetails } from './repository-tag-details';

/** A digest, shortened, with the whole of it in its title (and copyable from the page). */
export function digestCode(digest: string): SafeHtml {
  return html`<code class="digest" title="${digest}">${shortDigest(digest)}</code>`;
}

/** The size column: an image's config and layers; an index's sum and platform count. */
function sizeText(details: TagDetails): string {
  const { facts, totalBytes } = details;
  if (facts.kind !== 'index') return totalBytes === undefined ? '—' : formatBytes(totalBytes);
  const platforms = `${facts.children.length} platform${facts.children.length === 1 ? '' : 's'}`;
  return totalBytes === undefined ? platforms : `${formatBytes(totalBytes)} (${platforms})`;
}

function referrerList(details: TagDetails): SafeHtml {
  if (details.referrers.length === 0) return html`<span class="empty">none</span>`;
  return html`<ul class="referrers">
    ${details.referrers.map(
      (referrer) =>
        html`<li>
          <span class="artifact-type">${referrer.artifactType ?? referrer.mediaType}</span>
          ${digestCode(referrer.digest)}
        </li>`,
    )}
    ${details.moreReferrers && html`<li class="empty">and more</li>`}
  </ul>`;
}

/**
 * The tags table: tag, digest, kind, size, platforms, referrers and when it was pushed, with a
 * link choosing the tag for the pull commands, and (`canDelete`) one deleting it.
 */
export function tagsTable(options: {
  repository: Repository;
  tags: readonly TagDetails[];
  /** The tag the pull commands are for. */
  chosen: string | undefined;
  /** The `?page=` the links keep. */
  page: number;
  canDelete: boolean;
}): SafeHtml {
  const { repository, chosen, page } = options;
  const pullLink = (tag: string) =>
    `${repositoryPath(repository.fullName)}?${new URLSearchParams({
      tag,
      ...(page > 1 ? { page: String(page) } : {}),
    }).toString()}#pull`;
  return html`<table class="tags">
    <thead>
      <tr>
        <th>Tag</th>
        <th>Digest</th>
        <th>Kind</th>
        <th>Size</th>
        <th>Platforms</th>
        <th>Referrers</th>
        <th>Pushed (UTC)</th>
        <th><span class="wide-only">Actions</span></th>
      </tr>
    </thead>
    <tbody>
      ${options.tags.map(
        (details) =>
          html`<tr class="${details.tag.name === chosen ? 'chosen' : ''}">
            <td class="tag-name">${details.tag.name}</td>
            <td>${digestCode(details.tag.digest)}</td>
            <td><span class="kind ${details.facts.kind}">${details.facts.kind}</span></td>
            <td class="size">${sizeText(details)}</td>
            <td>
              ${
                details.facts.platforms.length === 0
                  ? html`<span class="empty">—</span>`
                  : html`<ul class="platforms">
                      ${details.facts.platforms.map((platform) => html`<li>${platform}</li>`)}
                    </ul>`
              }
            </td>
            <td>${referrerList(details)}</td>
            <td class="when" title="${formatTime(details.tag.updatedAt)}">
              ${formatTime(details.tag.updatedAt).replace(' UTC', '')}
            </td>
            <td class="tag-actions">
              <a
                href="${pullLink(details.tag.name)}"
                aria-label="Pull commands for ${details.tag.name}"
                >Pull</a
              >
              ${
                options.canDelete &&
                html`<a
                  class="danger-link"
                  href="${tagDeletePath(repository.fullName, details.tag.name)}"
                  aria-label="Delete tag ${details.tag.name}"
                  >Delete</a
                >`
              }
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
