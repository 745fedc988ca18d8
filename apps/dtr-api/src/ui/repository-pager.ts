import { html, type SafeHtml } from './html';

/**
 * "Showing 51–100 of 240" with Previous and Next links (plain links: no script), for page `page`
 * (1-based) of `total` items, `pageSize` a page; `urlOf(n)` is the URL of page n.
 */
export function pager(options: {
  page: number;
  pageSize: number;
  total: number;
  urlOf: (page: number) => string;
  /** What is counted, plural ("repositories"). */
  noun: string;
}): SafeHtml {
  const { page, pageSize, total, urlOf, noun } = options;
  const first = (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return html`<nav class="pager" aria-label="Pages">
    <span class="pager-count"
      >${first <= last ? `${first}–${last} of ${total} ${noun}` : `No ${noun} on page ${page}`}</span
    >
    ${page > 1 && html`<a rel="prev" href="${urlOf(Math.min(page - 1, pages))}">← Previous</a>`}
    ${page < pages && html`<a rel="next" href="${urlOf(page + 1)}">Next →</a>`}
  </nav>`;
}
