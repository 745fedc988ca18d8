/** Styles of the dashboard pages, appended to the site's stylesheet. */
export const DASHBOARD_STYLE = ``;
