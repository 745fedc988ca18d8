import type { CacheDashboard } from '../caches/cache-dashboard';
import { type ChartGeometry, chartGeometry } from './dashboard-chart';
import { type DashboardDisplay, dashboardDisplay } from './dashboard-format';

/** Where the dashboard's live script is served (no inline script: pages stay CSP-friendly). */
export const DASHBOARD_SCRIPT_PATH = '/ui/cache-dashboard.js';

/** The JSON of `GET /api/v0/content_caches/{id}/stats`: the dashboard, in words, and its chart. */
export type CacheDashboardJson = CacheDashboard & {
  readonly display: DashboardDisplay;
  readonly chart: ChartGeometry;
};

/** The dashboard with what the page shows of it (numbers in words, the chart's geometry). */
export function cacheDashboardJson(dashboard: CacheDashboard): CacheDashboardJson {
  return {
    ...dashboard,
    display: dashboardDisplay(dashboard),
    chart: chartGeometry(dashboard.series),
  };
}

/**
 * The page's live refresh: every interval it reads the JSON named by `data-live` on the element
 * of class `dash-live` and puts each `display` value into the element whose `data-stat` names its
 * path (badges: `data-status`), and the chart's geometry into the chart. Without it (or when a
 * read fails) the page shows what it was rendered with.
 */
export const DASHBOARD_SCRIPT = `'use strict';
(function () {
  var root = document.querySelector('.dash-live[data-live]');
  if (!root) return;
  var seconds = Math.max(1, Number(root.getAttribute('data-interval')) || 15);
  function at(object, path) {
    return path.split('.').reduce(function (value, key) {
      return value === null || value === undefined ? undefined : value[key];
    }, object);
  }
  function refresh() {
    fetch(root.getAttribute('data-live'), {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (data) {
        root.querySelectorAll('[data-stat]').forEach(function (element) {
          var value = at(data.display, element.getAttribute('data-stat'));
          if (typeof value === 'string') element.textContent = value;
        });
        root.querySelectorAll('[data-status]').forEach(function (element) {
          var value = at(data.display, element.getAttribute('data-status'));
          if (typeof value !== 'string') return;
          element.textContent = value;
          element.setAttribute('class', 'badge ' + value);
        });
        var parts = { 'chart-bytes': 'bytesPoints', 'chart-ratio': 'ratioPoints' };
        Object.keys(parts).forEach(function (id) {
          var line = document.getElementById(id);
          if (line) line.setAttribute('points', data.chart[parts[id]]);
        });
        var peak = document.getElementById('chart-peak');
        if (peak) peak.textContent = data.chart.peak;
        var since = document.getElementById('chart-since');
        if (since) since.textContent = data.chart.since;
        var intervals = document.getElementById('chart-intervals');
        if (intervals) intervals.textContent = String(data.chart.intervals);
        var updated = root.querySelector('[data-updated]');
        if (updated) updated.textContent = 'Live: updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
      })
      .catch(function () {
        var updated = root.querySelector('[data-updated]');
        if (updated) updated.textContent = 'Live refresh paused: the numbers could not be read';
      });
  }
  setInterval(refresh, seconds * 1000);
})();
`;
