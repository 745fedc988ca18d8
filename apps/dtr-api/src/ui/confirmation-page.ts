import { html, type SafeHtml } from './html';
import { csrfField, layout, type Section, type Viewer } from './ui-pages';

/**
 * A page asking to confirm a change that cannot be undone (every delete, removing a member): the
 * question, what follows from the change, a form POSTing to `action` (with the CSRF token) and a
 * link back to `cancel`. No script needed; the POST checks permission again.
 */
export function confirmationPage(options: {
  viewer: Viewer;
  section: Section;
  /** The page title and heading, e.g. "Delete tag alice/web:1.0?". */
  title: string;
  /** Asked in bold before the consequences; none when the title asks it. */
  question?: string | undefined;
  /** What the change does, and what happens to what depends on it. */
  consequences: SafeHtml;
  /** Above the heading: the way back to where the change was started (breadcrumbs). */
  crumbs?: SafeHtml | undefined;
  action: string;
  /** The button's text, e.g. "Delete tag". */
  button: string;
  cancel: string;
}): string {
  const { viewer } = options;
  return layout({
    title: options.title,
    viewer,
    section: options.section,
    body: html`${options.crumbs ?? ''}
      <h1 class="wrap-anywhere">${options.title}</h1>
      <form class="card confirm" method="post" action="${options.action}">
        ${csrfField(viewer)}
        ${options.question === undefined ? '' : html`<p><strong>${options.question}</strong></p>`}
        ${options.consequences}
        <div class="actions">
          <button class="danger" type="submit">${options.button}</button>
          <a href="${options.cancel}">Cancel</a>
        </div>
      </form>`,
  });
}
