import { describe, expect, it } from 'vitest';
import { getWebGPUDevice } from '../src/backend/webgpu.js';

// Runs on whatever adapter this machine has: a real GPU, or (CI, developer machines) the Mesa CPU
// adapter through EGL. The kernel below is checked against values computed on the CPU.
describe('getWebGPUDevice', () => {
  it('acquires a device, reports the adapter, and asks for the real limits', async () => {
    const ctx = await getWebGPUDevice();
    expect(ctx.adapterName.length).toBeGreaterThan(0);
    expect(['gpu', 'cpu-fallback', 'browser']).toContain(ctx.kind);
    // WebGPU's default is 256 invocations / 16 KiB workgroup storage; every adapter we run on offers more.
    expect(ctx.limits.maxComputeInvocationsPerWorkgroup).toBe(
      ctx.adapter.limits.maxComputeInvocationsPerWorkgroup,
    );
    expect(ctx.limits.maxComputeWorkgroupStorageSize).toBe(ctx.adapter.limits.maxComputeWorkgroupStorageSize);
    console.log(
      `webgpu adapter: ${ctx.adapterName} (${ctx.kind}), features: ${[...ctx.features].join(',') || 'none'}`,
    );
  });

  it('runs a compute shader whose output equals the CPU computation', async () => {
    const { device } = await getWebGPUDevice();
    const n = 1000;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
             @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
               if (g.x < arrayLength(&x)) { x[g.x] = x[g.x] * 2.0 + 1.0; }
             }`,
    });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
    });
    const buf = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buf, 0, x);
    const read = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: buf } }],
      }),
    );
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const y = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    buf.destroy();
    read.destroy();
    for (let i = 0; i < n; i++) expect(y[i]).toBe(Math.fround(Math.fround(x[i]! * 2) + 1));
  });
});

describe('webgpu-util', () => {
  it('uploads, runs a cached pipeline on a 2-D grid, and reads back', async () => {
    const { getPipeline, uploadMatrix, downloadMatrix, destroyGpuMatrix, dispatch, workgroupGrid } =
      await import('../src/backend/webgpu.js');
    const { device } = await getWebGPUDevice();
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u, @builtin(local_invocation_id) l: vec3u) {
        let i = (w.x + w.y * nw.x) * 64u + l.x;
        if (i < arrayLength(&x)) { x[i] = -x[i]; }
      }`;
    expect(getPipeline(device, code)).toBe(getPipeline(device, code));
    const m = { rows: 3, cols: 100, data: Float32Array.from({ length: 300 }, (_, i) => i - 150) };
    const g = uploadMatrix(device, m);
    dispatch(device, getPipeline(device, code), [g.buffer], workgroupGrid(device, Math.ceil(300 / 64)));
    const back = await downloadMatrix(device, g);
    destroyGpuMatrix(g);
    expect(Array.from(back.data)).toEqual(Array.from(m.data, (v) => -v));
    // A grid larger than the per-dimension limit splits over y.
    const [gx, gy] = workgroupGrid(device, device.limits.maxComputeWorkgroupsPerDimension + 5);
    expect(gy).toBe(2);
    expect(gx * gy).toBeGreaterThanOrEqual(device.limits.maxComputeWorkgroupsPerDimension + 5);
  });
});
