import type { DashboardPoint } from '../caches/cache-dashboard';
import { formatBytes } from './format';
import { html, type SafeHtml } from './html';

/** The chart's drawing area in SVG units (scaled to the page's width). */
const WIDTH = 600;
const HEIGHT = 140;
const LEFT = 4;
const TOP = 8;

/** What the chart draws, computed once for the page and for its live refresh (JSON). */
export interface ChartGeometry {
  /** Polyline points of bytes served per interval, scaled to the largest. */
  readonly bytesPoints: string;
  /** Polyline points of the hit ratio per interval (0 to 100 %). */
  readonly ratioPoints: string;
  /** The largest bytes served in one interval, in words (the top of the scale). */
  readonly peak: string;
  /** How many intervals are drawn. */
  readonly intervals: number;
  /** Where the time axis starts, "HH:MM" (UTC). */
  readonly since: string;
}

/**
 * The chart of the last hour: x is time up to now (from an hour ago, or from the first interval
 * sampled when that is later, so a new cache's first minutes fill the width), y bytes served
 * (scaled to the peak) and hit ratio.
 */
export function chartGeometry(series: readonly DashboardPoint[], now = Date.now()): ChartGeometry {
  const hourAgo = now - 3_600_000;
  const visible = series.filter((point) => Date.parse(point.at) >= hourAgo);
  const first = visible[0] === undefined ? hourAgo : Date.parse(visible[0].at);
  const start = visible.length < 2 ? hourAgo : Math.min(first, now - 60_000);
  const x = (at: string) =>
    (LEFT + ((Date.parse(at) - start) / (now - start)) * (WIDTH - 2 * LEFT)).toFixed(1);
  const peak = Math.max(0, ...visible.map((point) => point.bytesServed));
  const y = (fraction: number) => (TOP + (1 - fraction) * (HEIGHT - 2 * TOP)).toFixed(1);
  return {
    bytesPoints: visible
      .map((point) => `${x(point.at)},${y(peak === 0 ? 0 : point.bytesServed / peak)}`)
      .join(' '),
    ratioPoints: visible
      .filter((point) => point.hitRatio !== null)
      .map((point) => `${x(point.at)},${y(point.hitRatio ?? 0)}`)
      .join(' '),
    peak: formatBytes(peak),
    intervals: visible.length,
    since: new Date(start).toISOString().slice(11, 16),
  };
}

/**
 * The inline SVG chart of the last hour: bytes served per interval (filled line, scaled to the
 * peak) and the hit ratio (dashed, 0 to 100 %). Its parts carry ids the live script updates.
 */
export function chartSvg(geometry: ChartGeometry): SafeHtml {
  return html`<figure class="dash-chart">
    <svg
      viewBox="0 0 ${WIDTH} ${HEIGHT}"
      preserveAspectRatio="none"
      role="img"
      aria-labelledby="chart-caption"
    >
      <line class="grid" x1="0" y1="${TOP}" x2="${WIDTH}" y2="${TOP}" />
      <line class="grid" x1="0" y1="${HEIGHT / 2}" x2="${WIDTH}" y2="${HEIGHT / 2}" />
      <line class="axis" x1="0" y1="${HEIGHT - TOP}" x2="${WIDTH}" y2="${HEIGHT - TOP}" />
      <polyline id="chart-bytes" class="bytes" points="${geometry.bytesPoints}" />
      <polyline id="chart-ratio" class="ratio" points="${geometry.ratioPoints}" />
    </svg>
    <figcaption id="chart-caption">
      <span class="key bytes">Bytes served per interval</span> (peak
      <strong id="chart-peak">${geometry.peak}</strong>) ·
      <span class="key ratio">Hit ratio</span> (0–100 %) · since
      <span id="chart-since">${geometry.since}</span> UTC (at most the last hour),
      <span id="chart-intervals">${geometry.intervals}</span> intervals sampled
    </figcaption>
  </figure>`;
}
