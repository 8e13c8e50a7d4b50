import fs from 'node:fs';
import path from 'node:path';
import type { BenchRecord } from '@nq/core/bench';
// Relative imports until benchmarks/package.json lists "@nq/rotation-opt" and "@nq/gptq" (a root-owned file).
import { sampleCalibration } from '../../../packages/gptq/src/index.js';
import { defaultWasmGemm, gemmABt } from '../../../packages/model/src/cpu/index.js';
import { loadModel, Tokenizer } from '../../../packages/model/src/index.js';
import { buildPlan, captureInputs, type Method } from '../../../packages/rotation-opt/src/index.js';
import type { Suite } from '../suite.js';

/**
 * Seconds to optimise the rotations of one model on CPU (nq-docs-5M, INT4 activations):
 * DFRot's refinement of R1 (all attn/ffn calibration inputs stacked) and AdaCodec's training of
 * the attn/ffn codecs of every layer. Full: 4 calibration sequences of 256 tokens, 20 DFRot
 * iterations, 30 AdaCodec steps (the README table's settings). Quick: 1 sequence of 64 tokens,
 * 2 iterations each. These jobs take seconds to minutes, so each is timed once (samples = 1) with
 * performance.now() rather than through tinybench's warm-up + ≥ 5 iterations; the calibration
 * capture (one forward per sequence) is not included.
 */
const suite: Suite = {
  name: 'rotation-opt',
  description: 'rotation-opt: seconds to refine R1 (DFRot) and to train AdaCodec for nq-docs-5M, CPU',
  async run(ctx) {
    if (ctx.backend && ctx.backend !== 'cpu') return [];
    const dir = path.resolve(import.meta.dirname, '../../../../shared/models/nq-docs-5M');
    const modelFile = path.join(dir, 'nq-docs-5M.bin');
    const calibText = path.resolve(dir, '../../data/docs-calib.txt');
    if (!fs.existsSync(modelFile) || !fs.existsSync(calibText)) {
      ctx.log('rotation-opt: ../shared/models/nq-docs-5M or docs-calib missing, suite skipped');
      return [];
    }
    const model = await loadModel(modelFile);
    const tok = await Tokenizer.fromFile(path.join(dir, 'tok4096.model'));
    const seqs = await sampleCalibration({
      text: calibText,
      tokenizer: tok,
      sequences: ctx.quick ? 1 : 4,
      ctx: ctx.quick ? 64 : 256,
      seed: 0,
    });
    const gemm = defaultWasmGemm()?.gemm ?? gemmABt;
    const captured = captureInputs(model, seqs, ['attn', 'ffn'], gemm);
    const iters = ctx.quick ? 2 : undefined;
    const records: BenchRecord[] = [];
    for (const method of ['dfrot', 'adacodec'] as Method[]) {
      const t0 = performance.now();
      const { report } = buildPlan(model, captured, {
        method,
        format: 'int4',
        seed: 0,
        gemm,
        dfrot: { iterations: iters ?? 20 },
        adacodec: { iterations: iters ?? 30 },
      });
      const ms = performance.now() - t0;
      const steps = method === 'dfrot' ? (iters ?? 20) : (iters ?? 30);
      ctx.log(
        `rotation-opt ${method}: ${(ms / 1000).toFixed(1)} s (${captured.rows} calibration tokens per input, ${steps} iterations)`,
      );
      records.push({
        suite: 'rotation-opt',
        op: method === 'dfrot' ? 'dfrot-refine-R1' : 'adacodec-train',
        backend: 'cpu',
        n: model.config.dim,
        shape: `tokens=${captured.rows} inputs=${2 * model.config.nLayers} iterations=${steps}`,
        median_ms: ms,
        p75_ms: ms,
        p99_ms: ms,
        samples: 1,
        seconds: ms / 1000,
        plan_seconds: report.planSeconds,
        machine: ctx.machine,
      });
    }
    return records;
  },
};

export default suite;
