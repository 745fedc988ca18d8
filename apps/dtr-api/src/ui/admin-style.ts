/** Styles of the admin pages, appended to the site's stylesheet. */
export const ADMIN_STYLE = `
.search { margin-bottom: 16px; }
.search-row { display: flex; gap: 8px; max-width: 460px; }
.search-row input[type=search] { flex: 1; min-width: 0; padding: 8px 10px; border: 1px solid #b9c4d0; border-radius: 6px; font: inherit; background: #fff; }
.search button, form.inline button { background: #fff; color: var(--brand); border: 1px solid #b9c8dd; padding: 5px 12px; border-radius: 6px; font: inherit; cursor: pointer; white-space: nowrap; }
.search button:hover, form.inline button:hover { background: #eef3fb; }
form.inline { display: flex; align-items: center; gap: 8px; margin: 0; }
form.inline select { width: auto; padding: 5px 8px; }
.actions { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
a.danger-link { color: var(--bad); white-space: nowrap; }
.badge.role-owner { background: #efe7fb; color: #5b2c9f; }
.badge.role-member { background: #eef2f6; color: var(--muted); }
.field.checkbox { display: flex; align-items: flex-start; gap: 8px; }
.field.checkbox input { margin-top: 4px; }
.field.checkbox label { font-weight: 400; margin: 0; }
table.accounts td:first-child { white-space: nowrap; }
.pager { display: flex; gap: 16px; margin-top: 16px; }
form.confirm { max-width: 640px; }
form.confirm .actions { margin-top: 20px; }
form.confirm button.danger { background: var(--bad); color: #fff; border-color: var(--bad); padding: 9px 18px; font-weight: 600; }
@media (max-width: 720px) {
  .search-row { max-width: none; }
  form.inline button { padding: 4px 8px; }
  table.accounts .you { display: block; }
  .actions { gap: 4px 12px; }
}
`;
