import { defineConfig } from 'tsup';

export default defineConfig({
  entry: [
    'src/index.ts',
    'src/backend/webgpu.ts',
    'src/backend/gpujs.ts',
    'src/bench.ts',
    'src/testing.ts',
    'src/wasm/index.ts',
  ],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['webgpu', 'gpu.js'],
});
