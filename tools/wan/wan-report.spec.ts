import { describe, expect, it } from 'vitest';
import { authEstimate } from './chain-plan';
import { conclusionsOf, conclusionText, linkTable, type RunRow, runTable } from './wan-report';

const row = (
  state: RunRow['state'],
  depth: number,
  totalMs: number,
  hopRoundTrips: number[] = [],
): RunRow => ({
  route: state === 'direct' ? 'none' : 'los-angeles',
  depth,
  chain: state === 'direct' ? [] : ['los-angeles'],
  state,
  totalMs,
  megabytesPerSecond: 200 / (totalMs / 1000),
  firstByteMs: 300,
  manifestMs: 250,
  results: {},
  auth: authEstimate(11, 3, hopRoundTrips),
});

describe('the WAN chain report', () => {
  const rows = [
    row('direct', 0, 17_000),
    row('cold', 1, 17_100, [80]),
    row('warm', 1, 3_500, [80]),
    row('cold', 2, 17_300, [80, 60]),
    row('warm', 2, 3_600, [80]),
    row('cold', 3, 18_000, [80, 80, 60]),
    row('warm', 3, 3_400, [80]),
  ];

  it('finds the first depth whose cold pull costs more than the direct one, with and without auth', () => {
    const conclusions = conclusionsOf(rows);
    // 5% over 17 s is 17.85 s: depth 3 (18.0 s) is the first beyond it.
    expect(conclusions.coldCostsMoreFromDepth).toBe(3);
    // Depth 2 with the most per-hop authorization adds: 4 × 140 ms → 17.86 s.
    expect(conclusions.withAuthHighFromDepth).toBe(2);
    expect(conclusions.withAuthLowFromDepth).toBe(3);
    expect(conclusions.warmFastestMs).toBe(3_400);
    expect(conclusions.warmSlowestMs).toBe(3_600);
    expect(conclusions.warmSpread).toBeCloseTo(200 / 3_400);
    expect(conclusionText(conclusions, 3)).toContain('from: depth 3');
  });

  it('says so when no depth costs more', () => {
    const conclusions = conclusionsOf(rows.filter((each) => each.totalMs < 17_500));
    expect(conclusions.coldCostsMoreFromDepth).toBeUndefined();
    expect(conclusionText(conclusions, 2)).toContain('no depth up to 2');
  });

  it('prints a row per pull with its ratio to the direct pull and the auth range', () => {
    const lines = runTable(rows).split('\n');
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[2]).toContain('| direct |');
    expect(lines[3]).toMatch(/\| 1\.01× \| 0\.08–0\.32 \|$/);
  });

  it('prints each link asked beside measured', () => {
    const table = linkTable([
      {
        from: 'office',
        to: 'headquarters',
        askedDelayMs: 40,
        askedMbit: 100,
        roundTripsMs: [81, 82, 83],
        medianRoundTripMs: 82,
        mbitPerSecond: 94.5,
      },
    ]);
    expect(table.split('\n')[2]).toBe('| office → headquarters | 40 (80) | 82.0 | 100 | 94.5 |');
  });
});
