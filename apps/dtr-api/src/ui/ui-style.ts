import { ADMIN_STYLE } from './admin-style';
import { DASHBOARD_STYLE } from './dashboard-style';
import { REPOSITORY_STYLE } from './repository-style';

const BASE_STYLE = `
:root {
  --ink: #1d2733; --muted: #5b6b7c; --line: #dde3ea; --page: #f4f6f9; --card: #fff;
  --brand: #1f5fbf; --brand-dark: #174a96; --ok: #1e7b45; --ok-bg: #e6f4ec;
  --bad: #b3261e; --bad-bg: #fbe9e7; --warn: #8a5a00; --warn-bg: #fff4dc;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--page); font-size: 15px; line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--brand); }
header.top { background: #14202e; color: #fff; }
header.top .bar { max-width: 1040px; margin: 0 auto; padding: 0 24px; display: flex; align-items: center; gap: 24px; height: 56px; }
header.top .brand { font-weight: 700; font-size: 18px; color: #fff; text-decoration: none; letter-spacing: .02em; }
header.top nav { display: flex; gap: 4px; flex: 1; }
header.top nav a { color: #c9d6e3; text-decoration: none; padding: 6px 12px; border-radius: 6px; }
header.top nav a:hover, header.top nav a.current { background: #24364b; color: #fff; }
header.top .who { display: flex; align-items: center; gap: 12px; color: #c9d6e3; }
header.top .who form { margin: 0; }
header.top .who button { background: transparent; border: 1px solid #4a5f76; color: #fff; padding: 4px 12px; border-radius: 6px; cursor: pointer; font: inherit; }
main { max-width: 1040px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
.subtitle { color: var(--muted); margin: 0 0 24px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 24px; margin-bottom: 24px; }
.card h2 { font-size: 17px; margin: 0 0 16px; }
.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 24px; }
.tabs a { padding: 8px 16px; text-decoration: none; color: var(--muted); border-bottom: 2px solid transparent; margin-bottom: -1px; }
.tabs a.current { color: var(--ink); border-bottom-color: var(--brand); font-weight: 600; }
label { display: block; font-weight: 600; margin-bottom: 6px; }
.hint { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
input[type=text], input[type=password], input[type=url], select, textarea {
  width: 100%; max-width: 460px; padding: 8px 10px; border: 1px solid #b9c4d0; border-radius: 6px; font: inherit; background: #fff;
}
.field { margin-bottom: 18px; }
button.primary { background: var(--brand); color: #fff; border: 0; padding: 9px 18px; border-radius: 6px; font: inherit; font-weight: 600; cursor: pointer; }
button.primary:hover { background: var(--brand-dark); }
button.danger { background: #fff; color: var(--bad); border: 1px solid #e2b4b0; padding: 5px 12px; border-radius: 6px; font: inherit; cursor: pointer; }
.notice { padding: 12px 16px; border-radius: 8px; margin-bottom: 24px; border: 1px solid; }
.notice.ok { background: var(--ok-bg); color: var(--ok); border-color: #b8e0c8; }
.notice.error { background: var(--bad-bg); color: var(--bad); border-color: #f0c4bf; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 10px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: 13px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
td form { margin: 0; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 999px; }
.badge.healthy { background: var(--ok-bg); color: var(--ok); }
.badge.unhealthy { background: var(--bad-bg); color: var(--bad); }
.badge.unknown { background: var(--warn-bg); color: var(--warn); }
.badge.admin { background: #e8eefc; color: var(--brand-dark); }
.empty { color: var(--muted); }
.signin { max-width: 400px; margin: 64px auto; }
.signin h1 { text-align: center; margin-bottom: 24px; }
.signin input { max-width: none; }
.signin button { width: 100%; }
code { background: #eef2f6; padding: 1px 5px; border-radius: 4px; font-size: 13px; }
dl.facts { display: grid; grid-template-columns: 160px 1fr; gap: 8px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }

.card { overflow-x: auto; }
code.digest, .break { word-break: break-all; }
pre.command { background: #14202e; color: #e6edf5; padding: 10px 12px; border-radius: 6px; overflow-x: auto; font-size: 13px; margin: 0 0 12px; }
@media (max-width: 720px) {
  header.top .bar { flex-wrap: wrap; height: auto; padding: 8px 14px; gap: 6px 14px; }
  header.top nav { order: 3; flex-basis: 100%; flex-wrap: wrap; padding-bottom: 6px; }
  header.top nav a { white-space: nowrap; padding: 6px 10px; }
  header.top .who { margin-left: auto; }
  .wide-only { display: none; }
  main { padding: 20px 14px 48px; }
  .card { padding: 16px; }
  .tabs { overflow-x: auto; }
  .tabs a { white-space: nowrap; }
  dl.facts { grid-template-columns: 1fr; gap: 2px 0; }
  dl.facts dd { margin-bottom: 8px; }
  th, td { padding: 8px 6px; }
  .signin { margin: 24px auto; }
}
`;

/** The web UI's one stylesheet, served at `/ui/style.css`. */
export const UI_STYLESHEET = BASE_STYLE + REPOSITORY_STYLE + ADMIN_STYLE + DASHBOARD_STYLE;
