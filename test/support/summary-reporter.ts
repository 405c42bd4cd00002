import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with the slowest files (where the suite's time goes) and one plain line, "Tests: N passed, N failed,
 * N skipped", that any CI can read.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) counts.failed += 1;
    }
    counts.failed += unhandledErrors.length;
    const slowest = [...testModules].sort((a, b) => b.diagnostic().duration - a.diagnostic().duration).slice(0, 12);
    process.stdout.write(`\nSlowest files:\n${slowest.map((module) => `  ${(module.diagnostic().duration / 1000).toFixed(1).padStart(6)} s  ${module.moduleId.replace(`${process.cwd()}/`, '')}`).join('\n')}\n`);
    process.stdout.write(`\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
