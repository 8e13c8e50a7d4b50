import type { SerializedError } from 'vitest';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

// Prints one line per backend project ("webgpu: 12 passed, 0 failed, 1 skipped") after the run, so CI
// logs show that GPU tests really executed instead of being skipped, then the plain closing line.
export default class BackendSummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError> = [],
    _reason?: TestRunEndReason,
  ): void {
    const counts = new Map<string, { passed: number; failed: number; skipped: number }>();
    for (const mod of testModules) {
      const name = mod.project.name || 'default';
      const c = counts.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      // A file that failed to load or threw outside a test has no failed test of its own: count it
      // as one failure so that the summary can never read "0 failed" for a broken run.
      if (mod.state() === 'failed' && mod.errors().length > 0) c.failed++;
      for (const t of mod.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') c.passed++;
        else if (state === 'failed') c.failed++;
        else c.skipped++;
      }
      counts.set(name, c);
    }
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    console.log('\nTests per backend:');
    for (const name of [
      'cpu',
      'webgpu',
      'gpujs',
      ...[...counts.keys()].filter((k) => !['cpu', 'webgpu', 'gpujs'].includes(k)),
    ]) {
      const c = counts.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      console.log(`  ${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
      passed += c.passed;
      failed += c.failed;
      skipped += c.skipped;
    }
    if (unhandledErrors.length > 0) {
      console.log(`  unhandled errors outside tests: ${unhandledErrors.length}`);
      failed += unhandledErrors.length;
    }
    console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
