import type { Reporter, TestModule } from 'vitest/node';

// Prints one line per backend project ("webgpu: 12 passed, 0 failed, 1 skipped") after the run, so CI
// logs show that GPU tests really executed instead of being skipped, then the plain closing line.
export default class BackendSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, { passed: number; failed: number; skipped: number }>();
    for (const mod of testModules) {
      const name = mod.project.name || 'default';
      const c = counts.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
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
    for (const name of ['cpu', 'webgpu', 'gpujs', ...[...counts.keys()].filter((k) => !['cpu', 'webgpu', 'gpujs'].includes(k))]) {
      const c = counts.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      console.log(`  ${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
      passed += c.passed;
      failed += c.failed;
      skipped += c.skipped;
    }
    console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
