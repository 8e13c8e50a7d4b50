import type { AdaCodecOptions, AdaCodecResult } from '../adacodec.js';
import { blockProcrustes, CodecStepper, resolveAdaCodecOptions } from '../codec-stepper.js';
import { procrustes } from '../cpu/procrustes.js';
import { checkDfrotInit, type DfrotOptions, type DfrotResult, dfrotIterations } from '../dfrot.js';
import type { W4A4Format } from '../quantizers.js';
import { WebGpuActivations } from './ops.js';

/*
 * DFRot and AdaCodec with the heavy products on the GPU (float32): the same algorithms, options and
 * results as the cpu functions (refineDfrot, trainAdaCodec); the Procrustes SVDs, Cayley solves and
 * the optimiser state stay on the CPU in float64 (codec-stepper.ts is shared with the cpu path).
 * Matrices that go up per step: R (n × n) or E, D (n × b); what comes back: per-row errors and the
 * block cross products.
 */

const ENC = 0;
const DEC = 1;

/** AdaCodec on the GPU. `chunkRows`: NVFP4 global-scale window (the model's window, e.g. 256). */
export async function trainAdaCodecWebGPU(
  x: Float32Array,
  rows: number,
  n: number,
  format: W4A4Format,
  opts: AdaCodecOptions & { chunkRows?: number } = {},
): Promise<AdaCodecResult> {
  const t0 = performance.now();
  const o = resolveAdaCodecOptions(x.length, rows, n, opts);
  const b = o.block;
  const g = await WebGpuActivations.create(x, rows, n, format, {
    chunkRows: opts.chunkRows ?? 0,
    weights: o.weights,
  });
  try {
    const st = new CodecStepper(n, o);
    const encode = (enc: Float64Array) => {
      g.setMatrix(ENC, enc, b);
      g.gemm('x', ENC, b, 'z');
      g.quantize('z', 'zq');
    };
    const decode = async (dec: Float64Array) => {
      g.setMatrix(DEC, dec, b);
      g.gemm('zq', DEC, b, 'y');
      return g.relativeError('y', 'x');
    };
    encode(st.enc.blocks);
    st.start(await decode(st.dec.blocks));
    for (let it = 1; it <= o.iterations; it++) {
      let gradE: Float64Array;
      let gradD: Float64Array | null = null;
      if (o.decoder === 'ste' || o.gradient === 'ste') {
        // G = w(X̂ − X), G·Dᵀ (DEC holds the current D).
        g.weightedResidual();
        if (o.decoder === 'ste') gradD = await g.cross('zq', 'g', b, false);
        if (o.gradient === 'ste') {
          g.gemm('g', DEC, b, 'gdt', true);
          gradE = await g.cross('x', 'gdt', b, false);
        }
      }
      if (o.gradient === 'expected') {
        await g.surrogate(o.surrogate);
        gradE = await g.cross('x', 'g', b, false);
      }
      const cand = st.propose(gradE!, gradD);
      encode(cand.enc.blocks);
      const dec =
        o.decoder === 'procrustes'
          ? blockProcrustes(await g.cross('zq', 'x', b, true), n, b)
          : st.decoderFor(cand);
      const took = st.finish(it, cand.enc, dec, await decode(dec.blocks));
      if (!took) {
        encode(st.enc.blocks);
        await decode(st.dec.blocks);
      }
    }
    return st.result(t0);
  } finally {
    g.destroy();
  }
}

/** DFRot on the GPU: X·R, Q(·), the loss and XᵀWẐ there; the n × n Procrustes SVD on the CPU. */
export async function refineDfrotWebGPU(
  x: Float32Array,
  rows: number,
  n: number,
  init: ArrayLike<number>,
  format: W4A4Format,
  opts: Omit<DfrotOptions, 'gemm'> & { chunkRows?: number } = {},
): Promise<DfrotResult> {
  const t0 = performance.now();
  checkDfrotInit(init, n);
  const iters = dfrotIterations(opts);
  const g = await WebGpuActivations.create(x, rows, n, format, {
    chunkRows: opts.chunkRows ?? 0,
    weights: opts.weights ?? null,
  });
  try {
    let r: Float64Array = Float64Array.from(init);
    const lossAt = async (rr: Float64Array) => {
      g.setMatrix(ENC, rr, n);
      g.gemm('x', ENC, n, 'z');
      g.quantize('z', 'zq');
      return g.relativeError('z', 'zq');
    };
    const loss = [await lossAt(r)];
    let best = 0;
    let bestR = r;
    for (let it = 1; it <= iters; it++) {
      r = procrustes(await g.cross('x', 'zq', n, true), n);
      const l = await lossAt(r);
      loss.push(l);
      opts.onIteration?.(it, l);
      if (l < loss[best]!) {
        best = it;
        bestR = r;
      }
    }
    return { r: bestR, loss, best, seconds: (performance.now() - t0) / 1000 };
  } finally {
    g.destroy();
  }
}
