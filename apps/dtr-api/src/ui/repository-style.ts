/** Styles of the repository pages, appended to the site's stylesheet. */
export const REPOSITORY_STYLE = `
.badge.public { background: var(--ok-bg); color: var(--ok); }
.badge.private { background: #eef2f6; color: var(--muted); }
h1 .badge { vertical-align: middle; }
.wrap-anywhere { overflow-wrap: anywhere; }
.notice.warn { background: var(--warn-bg); color: var(--warn); border-color: #f0dca8; }
.crumbs { margin: 0 0 4px; color: var(--muted); font-size: 14px; }
form.filters { display: flex; flex-wrap: wrap; gap: 0 16px; align-items: flex-end; padding-bottom: 6px; }
form.filters .field { flex: 1 1 160px; margin-bottom: 18px; }
form.filters .field:first-child { flex: 2 1 220px; }
form.filters input[type=search] { width: 100%; padding: 8px 10px; border: 1px solid #b9c4d0; border-radius: 6px; font: inherit; background: #fff; }
form.filters .filter-buttons { flex: 0 0 auto; display: flex; align-items: center; gap: 14px; }
th.number, td.number { text-align: right; }
td.when { white-space: nowrap; color: var(--muted); font-size: 14px; }
a.repository-name { font-weight: 600; text-decoration: none; word-break: break-all; }
a.repository-name:hover { text-decoration: underline; }
nav.pager { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; margin-top: 16px; }
nav.pager .pager-count { color: var(--muted); font-size: 14px; margin-right: auto; }
.pull-commands { margin-top: 12px; }
.pull-command { min-width: 0; }
.pull-command h3 { font-size: 13px; margin: 0 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
pre.command.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
table.tags td { vertical-align: top; }
table.tags th, table.tags td { padding-left: 6px; padding-right: 6px; }
table.tags td.tag-name { font-weight: 600; word-break: break-all; min-width: 80px; }
table.tags td.size { min-width: 72px; }
table.tags td.when { font-size: 13px; }
table.tags tr.chosen td { background: #f3f7fd; }
table.tags td.tag-actions { white-space: nowrap; }
table.tags td.tag-actions a + a { margin-left: 12px; }
table.tags code.digest, ul.referrers code.digest { word-break: normal; white-space: nowrap; }
ul.platforms, ul.referrers { list-style: none; margin: 0; padding: 0; font-size: 14px; }
ul.referrers li + li { margin-top: 4px; }
ul.referrers .artifact-type { display: block; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.kind { display: inline-block; font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 999px; background: #eef2f6; color: var(--ink); }
.kind.index { background: #e8eefc; color: var(--brand-dark); }
.kind.artifact { background: var(--warn-bg); color: var(--warn); }
a.danger-link { color: var(--bad); }
a.button { display: inline-block; text-decoration: none; }
a.button.danger { background: #fff; color: var(--bad); border: 1px solid #e2b4b0; padding: 7px 14px; border-radius: 6px; }
.danger-zone { border-color: #f0c4bf; }
@media (max-width: 720px) {
  form.filters .field { flex-basis: 100%; }
}
`;
