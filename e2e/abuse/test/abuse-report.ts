import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { workspaceRoot } from '@dtr-cache/test-support';

/** One row of the report: an attack or fault, what must happen, what did. */
export interface AbuseRow {
  readonly attack: string;
  readonly expected: string;
  readonly observed: string;
  readonly passed: boolean;
}

/** Where every spec file of the suite adds its rows. */
export const REPORT_FILE = join(workspaceRoot, 'artifacts', 'abuse-report.json');

/**
 * The suite's table: each spec file records its rows, prints them as a table when it ends, and
 * adds them to {@link REPORT_FILE} (spec files run one after another; the run's global set-up
 * removes what an earlier run left).
 */
export class AbuseReport {
  private readonly rows: AbuseRow[] = [];

  constructor(private readonly suite: string) {}

  /** Records a row; returns `passed` so a test can assert on it. */
  record(row: AbuseRow): boolean {
    this.rows.push(row);
    return row.passed;
  }

  /** Prints the rows and adds them to the JSON report. */
  async finish(): Promise<void> {
    const widths = { attack: 44, expected: 52 };
    const line = (a: string, e: string, o: string) =>
      `${a.padEnd(widths.attack)} | ${e.padEnd(widths.expected)} | ${o}`;
    const table = [
      `abuse and faults: ${this.suite}`,
      line('attack or fault', 'expected', 'observed'),
      line('-'.repeat(widths.attack), '-'.repeat(widths.expected), '--------'),
      ...this.rows.map((row) =>
        line(row.attack, row.expected, `${row.passed ? 'ok' : 'FAILED'}: ${row.observed}`),
      ),
    ].join('\n');
    process.stdout.write(`\n${table}\n\n`);
    await mkdir(dirname(REPORT_FILE), { recursive: true });
    const report = await readFile(REPORT_FILE, 'utf8')
      .then((text) => JSON.parse(text) as { writtenAt: string; suites: Record<string, AbuseRow[]> })
      .catch(() => ({ writtenAt: '', suites: {} as Record<string, AbuseRow[]> }));
    report.writtenAt = new Date().toISOString();
    report.suites[this.suite] = this.rows;
    await writeFile(REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`);
  }
}
