/** Styles of the repository pages, appended to the site's stylesheet. */
export const REPOSITORY_STYLE = ``;
