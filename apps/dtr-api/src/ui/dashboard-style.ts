/** Styles of the dashboard pages, appended to the site's stylesheet. */
export const DASHBOARD_STYLE = `
.notice.warn { background: var(--warn-bg); color: var(--warn); border-color: #f0d9a6; }
.reason { color: var(--muted); font-size: 13px; }
td.health .reason { display: block; margin-top: 2px; }
.crumbs { margin: 0 0 4px; color: var(--muted); font-size: 14px; }
a.button { display: inline-block; text-decoration: none; white-space: nowrap; }
a.button.danger { background: #fff; color: var(--bad); border: 1px solid #e2b4b0; padding: 5px 12px; border-radius: 6px; }
.actions { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
.dash-table td, .dash-table th { white-space: nowrap; }
.dash-table td.health { white-space: normal; min-width: 150px; }
.dash-tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; margin-bottom: 24px; }
.dash-tiles .tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.dash-tiles .tile.wide { grid-column: span 2; }
.dash-tiles .tile span { display: block; color: var(--muted); font-size: 13px; }
.dash-tiles .tile strong { font-size: 19px; }
.dash-tiles .tile.wide strong { font-size: 16px; }
.dash-chart { margin: 0; }
.dash-chart svg { width: 100%; height: 160px; display: block; background: #fafbfd; border: 1px solid var(--line); border-radius: 6px; }
.dash-chart line.grid { stroke: #e6ebf1; stroke-width: 1; vector-effect: non-scaling-stroke; }
.dash-chart line.axis { stroke: #b9c4d0; stroke-width: 1; vector-effect: non-scaling-stroke; }
.dash-chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; stroke-linejoin: round; }
.dash-chart polyline.bytes { stroke: var(--brand); }
.dash-chart polyline.ratio { stroke: var(--ok); stroke-dasharray: 5 4; }
.dash-chart figcaption { color: var(--muted); font-size: 13px; margin-top: 8px; }
.dash-chart .key.bytes { color: var(--brand); font-weight: 600; }
.dash-chart .key.ratio { color: var(--ok); font-weight: 600; }
svg.topology { width: 100%; height: auto; display: block; margin: 0 auto; }
svg.topology rect.node { fill: #fff; stroke: #b9c4d0; stroke-width: 1.5; }
svg.topology rect.node.dtr { fill: #14202e; stroke: #14202e; }
svg.topology rect.node.healthy { fill: var(--ok-bg); stroke: var(--ok); }
svg.topology rect.node.unhealthy { fill: var(--bad-bg); stroke: var(--bad); }
svg.topology rect.node.unknown { fill: var(--warn-bg); stroke: var(--warn); }
svg.topology text { text-anchor: middle; font-size: 13px; fill: var(--ink); }
svg.topology text.name { font-weight: 600; }
svg.topology text.detail { font-size: 11px; fill: var(--muted); }
svg.topology rect.node.dtr ~ text, svg.topology text.on-dark { fill: #fff; }
svg.topology line.edge { stroke: #5b6b7c; stroke-width: 1.5; }
svg.topology marker path { fill: #5b6b7c; }
@media (max-width: 720px) {
  .dash-tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .dash-tiles .tile { padding: 10px; }
  .dash-tiles .tile strong { font-size: 16px; }
}
`;
