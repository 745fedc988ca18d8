import type { TopologyNode } from '../caches/cache-topology';
import { chartSvg } from './dashboard-chart';
import type { DashboardDisplay } from './dashboard-format';
import { type CacheDashboardJson, DASHBOARD_SCRIPT_PATH } from './dashboard-live';
import { topologySvg } from './dashboard-topology';
import { confirmationPage } from './confirmation-page';
import { html, type SafeHtml } from './html';
import { layout, type Notice, notices, type Viewer } from './ui-pages';

/** A health badge and its reason in plain text beside it; `path` names them for the script. */
export function healthInWords(display: { status: string; health: string }, path = ''): SafeHtml {
  const at = (name: string) => (path === '' ? name : `${path}.${name}`);
  return html`<span class="badge ${display.status}" data-status="${at('status')}"
      >${display.status}</span
    >
    <span class="reason" data-stat="${at('health')}">${display.health}</span>`;
}

/** The administrators' table of every cache with its numbers, each linking to its dashboard. */
export function dashboardTable(dashboards: readonly CacheDashboardJson[]): SafeHtml {
  return html`<table class="dash-table">
    <thead>
      <tr>
        <th>Cache</th>
        <th>Health</th>
        <th>Hit ratio</th>
        <th>Bytes served</th>
        <th>Disk</th>
        <th>Fills</th>
        <th>Users</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      ${dashboards.map(
        (dashboard) =>
          html`<tr>
            <td>
              <a href="/admin/content-caches/${dashboard.id}"><strong>${dashboard.name}</strong></a>
              <div class="hint">
                ${dashboard.members.length === 1 ? '1 member' : `${dashboard.members.length} members`}
              </div>
            </td>
            <td class="health">${healthInWords(dashboard.display)}</td>
            <td>${dashboard.display.hitRatio}</td>
            <td>
              ${dashboard.display.bytesServed}
              ${
                dashboard.display.bytesFetched !== '–' &&
                html`<div class="hint">${dashboard.display.bytesFetched} from upstream</div>`
              }
            </td>
            <td>${dashboard.display.disk}</td>
            <td>${dashboard.display.fills}</td>
            <td>
              ${dashboard.display.users} by setting
              <div class="hint">${dashboard.pulls.byNetwork} pulls by network</div>
            </td>
            <td>
              <a
                class="button danger"
                href="/admin/content-caches/${dashboard.id}/delete"
                aria-label="Delete ${dashboard.name}"
                >Delete</a
              >
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The topology card: DTR, the caches, and what each pulls from. */
export function topologyCard(nodes: readonly TopologyNode[]): SafeHtml {
  return html`<div class="card">
    <h2>Topology</h2>
    <p class="hint">
      Each arrow points from a cache to what it pulls from (as its members report their upstreams):
      DTR, or another registered cache.
    </p>
    ${topologySvg(nodes)}
  </div>`;
}

function memberRows(display: DashboardDisplay, dashboard: CacheDashboardJson): SafeHtml {
  return html`${dashboard.members.map((member, index) => {
    const path = `members.${index}`;
    const shown = display.members[index];
    return html`<tr>
      <td>
        <code class="break">${member.host}</code>
        <div class="hint" data-stat="${path}.sample">${shown?.sample}</div>
      </td>
      <td class="health">${shown && healthInWords(shown, path)}</td>
      <td data-stat="${path}.hitRatio">${shown?.hitRatio}</td>
      <td data-stat="${path}.bytesServed">${shown?.bytesServed}</td>
      <td data-stat="${path}.bytesFetched">${shown?.bytesFetched}</td>
      <td data-stat="${path}.disk">${shown?.disk}</td>
      <td data-stat="${path}.fills">${shown?.fills}</td>
    </tr>`;
  })}`;
}

/** One cache's live dashboard: its numbers, members, chart of the last hour, and Delete. */
export function cacheDashboardPage(options: {
  viewer: Viewer;
  dashboard: CacheDashboardJson;
  networks: readonly string[];
  notices: readonly Notice[];
}): string {
  const { dashboard } = options;
  const display = dashboard.display;
  return layout({
    title: `${dashboard.name} · Content Caches`,
    viewer: options.viewer,
    section: 'caches',
    body: html`<p class="crumbs"><a href="/admin/content-caches">Content Caches</a> /</p>
      <h1>${dashboard.name}</h1>
      ${notices(options.notices)}
      <div
        class="dash-live"
        data-live="/api/v0/content_caches/${dashboard.id}/stats"
        data-interval="${dashboard.intervalSeconds}"
      >
        <p class="subtitle">
          ${healthInWords(display)}
          ${
            dashboard.health.checkedAt &&
            html`<span class="reason"
              >(checked ${dashboard.health.checkedAt.slice(11, 19)} UTC)</span
            >`
          }
          · <span data-updated>Sampled every ${dashboard.intervalSeconds} s</span>
        </p>
        <div class="dash-tiles">
          <div class="tile">
            <span>Hit ratio</span><strong data-stat="hitRatio">${display.hitRatio}</strong>
          </div>
          <div class="tile">
            <span>Bytes served</span><strong data-stat="bytesServed">${display.bytesServed}</strong>
          </div>
          <div class="tile">
            <span>From upstream</span
            ><strong data-stat="bytesFetched">${display.bytesFetched}</strong>
          </div>
          <div class="tile">
            <span>Disk used</span><strong data-stat="disk">${display.disk}</strong>
          </div>
          <div class="tile">
            <span>Fills in flight</span><strong data-stat="fills">${display.fills}</strong>
          </div>
          <div class="tile">
            <span>Users by setting</span><strong data-stat="users">${display.users}</strong>
          </div>
          <div class="tile wide">
            <span>Pulls sent here</span><strong data-stat="pulls">${display.pulls}</strong>
          </div>
        </div>
        <div class="card">
          <h2>The last hour</h2>
          ${chartSvg(dashboard.chart)}
        </div>
        <div class="card">
          <h2>Members</h2>
          <table class="dash-table">
            <thead>
              <tr>
                <th>Host</th>
                <th>Health</th>
                <th>Hit ratio</th>
                <th>Served</th>
                <th>From upstream</th>
                <th>Disk</th>
                <th>Fills</th>
              </tr>
            </thead>
            <tbody>
              ${memberRows(display, dashboard)}
            </tbody>
          </table>
        </div>
      </div>
      <div class="card">
        <h2>Settings</h2>
        <dl class="facts">
          <dt>Client networks</dt>
          <dd>
            ${
              options.networks.length === 0
                ? html`<span class="empty">none</span>`
                : html`${options.networks.map((network) => html`<code>${network}</code> `)}`
            }
          </dd>
          <dt>Counters</dt>
          <dd>Since each member started; the chart shows their growth per interval.</dd>
        </dl>
        <p>
          <a class="button danger" href="/admin/content-caches/${dashboard.id}/delete"
            >Delete this cache</a
          >
        </p>
      </div>
      <script src="${DASHBOARD_SCRIPT_PATH}" defer></script>`,
  });
}

/** Asks before a cache is deleted, naming it and the users whose setting names it. */
export function deleteCachePage(options: {
  viewer: Viewer;
  cache: { id: number; name: string; hosts: readonly string[] };
  users: number;
}): string {
  const { cache, users } = options;
  return confirmationPage({
    viewer: options.viewer,
    section: 'caches',
    title: `Delete ${cache.name}?`,
    crumbs: html`<p class="crumbs"><a href="/admin/content-caches">Content Caches</a> /</p>`,
    consequences: html`<p>
        The content cache <strong>${cache.name}</strong>
        (${cache.hosts.length === 1 ? '1 member' : `${cache.hosts.length} members`}) will be removed
        from DTR. Its hosts keep running, but DTR sends no more pulls to them.
      </p>
      <p class="notice warn" role="alert">
        ${
          users === 0
            ? 'No user has chosen this cache in their settings.'
            : `${users === 1 ? '1 user has' : `${users} users have`} chosen this cache in their settings: they will pull through the cache of their network (or from DTR) instead.`
        }
      </p>`,
    action: `/admin/content-caches/${cache.id}/delete`,
    button: `Delete ${cache.name}`,
    cancel: `/admin/content-caches/${cache.id}`,
  });
}
