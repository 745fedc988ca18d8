/** Styles of the admin pages, appended to the site's stylesheet. */
export const ADMIN_STYLE = ``;
