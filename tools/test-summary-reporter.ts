import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one closing line, `tests: N passed, N failed, N skipped`, after the whole run, and
 * lists every skipped test with the reason it gave (a skip without a reason is called out).
 */
export default class TestSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const testModule of testModules) {
      for (const testCase of testModule.children.allTests()) {
        const result = testCase.result();
        if (result.state === 'passed') passed += 1;
        else if (result.state === 'failed') failed += 1;
        else if (result.state === 'skipped') {
          const reason = result.note ?? 'NO REASON GIVEN';
          skipped.push(`  skipped: ${testCase.fullName} (${reason})`);
        }
      }
    }
    const lines = [
      ...skipped,
      `tests: ${passed} passed, ${failed} failed, ${skipped.length} skipped`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}
