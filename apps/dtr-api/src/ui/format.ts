/** How every page writes byte counts and times (pure functions). */

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A byte count for people: "512 B", "1.5 KiB", "23 MiB" (binary units, three digits at most). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit] as string}`;
}

/** An ISO timestamp as "2026-12-07 20:49 UTC" (the time zone every replica shares). */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
