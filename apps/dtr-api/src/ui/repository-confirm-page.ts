import { html, type SafeHtml } from './html';
import { csrfField, layout, type Viewer } from './ui-pages';

/**
 * A confirmation before deleting: names what will be deleted and what follows, then a form
 * POSTing to `action` (with the CSRF token) and a link back to `cancel`. No script needed.
 */
export function confirmDeletePage(options: {
  viewer: Viewer;
  /** The page title and heading, e.g. "Delete tag alice/web:1.0?". */
  title: string;
  /** What will be deleted, and what happens to what depends on it. */
  explanation: SafeHtml;
  /** The button's text. */
  confirm: string;
  action: string;
  cancel: string;
}): string {
  const { viewer } = options;
  return layout({
    title: options.title,
    viewer,
    section: 'repositories',
    body: html`<h1 class="wrap-anywhere">${options.title}</h1>
      <form class="card confirm" method="post" action="${options.action}">
        ${csrfField(viewer)} ${options.explanation}
        <p><strong>This cannot be undone.</strong></p>
        <div class="confirm-buttons">
          <button class="danger strong" type="submit">${options.confirm}</button>
          <a href="${options.cancel}">Cancel</a>
        </div>
      </form>`,
  });
}
