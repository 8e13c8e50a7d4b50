import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cpu/index.ts', 'src/webgpu/index.ts', 'src/gpujs/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['webgpu', 'gpu.js'],
});
