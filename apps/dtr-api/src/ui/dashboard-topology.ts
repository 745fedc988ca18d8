import type { TopologyNode } from '../caches/cache-topology';
import { html, type SafeHtml } from './html';

const NODE_WIDTH = 150;
const NODE_HEIGHT = 46;
const GAP_X = 24;
const ROW_HEIGHT = 96;
const MARGIN = 12;

interface Placed {
  readonly x: number;
  readonly y: number;
}

/** Shortens a name to what fits a box. */
function fitted(name: string): string {
  return name.length > 18 ? `${name.slice(0, 17)}…` : name;
}

/**
 * The topology as an inline SVG: DTR at the top, each cache below the one it pulls from (rows by
 * level), an arrow from each cache to what it pulls from, and each cache's health as its colour
 * and in words. Scales to the page's width.
 */
export function topologySvg(nodes: readonly TopologyNode[]): SafeHtml {
  const rows = new Map<number, TopologyNode[]>();
  for (const node of nodes) rows.set(node.level, [...(rows.get(node.level) ?? []), node]);
  const widest = Math.max(1, ...[...rows.values()].map((row) => row.length));
  const width = Math.max(2 * MARGIN + widest * NODE_WIDTH + (widest - 1) * GAP_X, 320);
  const levels = Math.max(0, ...nodes.map((node) => node.level));
  const height = 2 * MARGIN + levels * ROW_HEIGHT + NODE_HEIGHT;
  const rowPlace = (count: number, index: number, level: number): Placed => {
    const rowWidth = count * NODE_WIDTH + (count - 1) * GAP_X;
    return {
      x: (width - rowWidth) / 2 + index * (NODE_WIDTH + GAP_X),
      y: MARGIN + level * ROW_HEIGHT,
    };
  };
  const dtr = rowPlace(1, 0, 0);
  const placed = new Map<number, Placed>();
  for (const [level, row] of rows)
    row.forEach((node, index) => placed.set(node.id, rowPlace(row.length, index, level)));
  const arrows = nodes.flatMap((node) => {
    const from = placed.get(node.id) as Placed;
    return node.pullsFrom.map((target) => {
      const to = target === 'dtr' ? dtr : placed.get(target);
      if (!to) return html``;
      const x1 = from.x + NODE_WIDTH / 2;
      const y1 = from.y;
      const x2 = to.x + NODE_WIDTH / 2;
      const y2 = to.y + NODE_HEIGHT + 4;
      return html`<line
        class="edge"
        x1="${x1}"
        y1="${y1}"
        x2="${x2}"
        y2="${y2}"
        marker-end="url(#arrow)"
      />`;
    });
  });
  const box = (at: Placed, label: string, detail: string, kind: string, href?: string) => {
    const shape = html`<rect
        class="node ${kind}"
        x="${at.x}"
        y="${at.y}"
        width="${NODE_WIDTH}"
        height="${NODE_HEIGHT}"
        rx="8"
      />
      <text x="${at.x + NODE_WIDTH / 2}" y="${at.y + 20}" class="name">${fitted(label)}</text>
      <text x="${at.x + NODE_WIDTH / 2}" y="${at.y + 36}" class="detail">${detail}</text>`;
    return href ? html`<a href="${href}"><title>${label}: ${detail}</title>${shape}</a>` : shape;
  };
  return html`<svg
    class="topology"
    viewBox="0 0 ${width} ${height}"
    style="max-width: ${width}px"
    role="img"
    aria-label="Topology: DTR and ${nodes.length} content caches, arrows to what each pulls from"
  >
    <defs>
      <marker
        id="arrow"
        viewBox="0 0 10 10"
        refX="9"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        orient="auto-start-reverse"
      >
        <path d="M0,0 L10,5 L0,10 z" />
      </marker>
    </defs>
    ${arrows} ${box(dtr, 'DTR', 'origin', 'dtr')}
    ${nodes.map((node) =>
      box(
        placed.get(node.id) as Placed,
        node.name,
        node.status,
        node.status,
        `/admin/content-caches/${node.id}`,
      ),
    )}
  </svg>`;
}
