import { defineConfig } from 'vitest/config';

// One workspace-wide config. Tests are split into one project per backend so that the run prints how
// many tests ran on each (cpu, webgpu, gpujs): a GPU test file is named `*.webgpu.test.ts` or
// `*.gpujs.test.ts`. The `source` condition makes `@nq/*` imports resolve to each package's src/, so
// tests never depend on a stale build.
const roots = ['packages/*/test', 'apps/*/test', 'benchmarks/test', 'scripts/test'];
const shared = {
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
};

export default defineConfig({
  ...shared,
  test: {
    reporters: ['default', './scripts/vitest-backend-summary.ts'],
    projects: [
      {
        ...shared,
        test: {
          name: 'cpu',
          include: roots.map((r) => `${r}/**/*.test.ts`),
          exclude: ['**/*.webgpu.test.ts', '**/*.gpujs.test.ts', '**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'webgpu',
          include: roots.map((r) => `${r}/**/*.webgpu.test.ts`),
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One GPU process at a time: the CPU adapter (llvmpipe) already uses every core.
          fileParallelism: false,
        },
      },
      {
        ...shared,
        test: {
          name: 'gpujs',
          include: roots.map((r) => `${r}/**/*.gpujs.test.ts`),
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
