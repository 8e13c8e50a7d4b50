import { defineConfig } from 'tsup';

// Two entries: the library (index) and the `nq` bin (cli, which keeps its #!/usr/bin/env node line).
// Commands are loaded lazily by the CLI, so tsup emits them as shared chunks.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['webgpu', 'gpu.js'],
});
