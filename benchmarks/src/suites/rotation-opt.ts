import fs from 'node:fs';
import path from 'node:path';
import type { BenchRecord } from '@nq/core/bench';
import { getWebGPUDevice } from '@nq/core/webgpu';
import { sampleCalibration } from '@nq/gptq';
import { loadModel, Tokenizer } from '@nq/model';
import { defaultWasmGemm, gemmABt } from '@nq/model/cpu';
import {
  buildPlan,
  type CapturedInputs,
  captureInputs,
  type Method,
  type MethodOptions,
} from '@nq/rotation-opt';
import { buildPlanWebGPU } from '@nq/rotation-opt/webgpu';
import type { Suite } from '../suite.js';

/**
 * Seconds to optimise the rotations of one model (nq-docs-5M, INT4 activations), per backend in
 * the same run: DFRot's refinement of R1 (all 8 attn/ffn calibration inputs stacked, n = 256) and
 * AdaCodec's training of the 8 attn/ffn codecs (b = 64, the package defaults: expected-error
 * surrogate encoder + Procrustes decoder). Full: 4 calibration sequences of 256 tokens, 20 DFRot
 * iterations, 30 AdaCodec steps per codec. Quick: 1 sequence of 64 tokens, 2 iterations each.
 * cpu: float32 wasm GEMMs + float64 linear algebra (one thread); webgpu: GEMMs, quantization,
 * losses and cross products on the device, SVD/Cayley solves on the CPU (float64). Each job is
 * timed once (samples = 1) after an untimed 1-iteration warm-up on the same backend (shader
 * compilation, wasm start-up); the calibration forward passes are not included. webgpu records
 * carry ratio = cpu seconds ÷ webgpu seconds (baseline 'cpu', same run); --backend webgpu runs
 * the cpu jobs too (the baseline), --backend cpu only those.
 * ../shared is found beside the repository or through NQ_SHARED.
 */
const SHARED_ROOT = process.env.NQ_SHARED ?? path.resolve(import.meta.dirname, '../../../../shared');

const suite: Suite = {
  name: 'rotation-opt',
  description:
    'rotation-opt: seconds to refine R1 (DFRot) and to train AdaCodec for nq-docs-5M, cpu and webgpu',
  async run(ctx) {
    // --backend webgpu also runs the cpu jobs: they are the baseline of the webgpu ratio.
    const backends: ('cpu' | 'webgpu')[] =
      ctx.backend === 'cpu' ? ['cpu'] : !ctx.backend || ctx.backend === 'webgpu' ? ['cpu', 'webgpu'] : [];
    if (backends.length === 0) return [];
    const dir = path.join(SHARED_ROOT, 'models/nq-docs-5M');
    const modelFile = path.join(dir, 'nq-docs-5M.bin');
    const calibText = path.join(SHARED_ROOT, 'data/docs-calib.txt');
    if (!fs.existsSync(modelFile) || !fs.existsSync(calibText)) {
      ctx.log(
        'rotation-opt: nq-docs-5M or docs-calib missing (set NQ_SHARED or put ../shared beside the repository), suite skipped',
      );
      return [];
    }
    let adapter = '';
    if (backends.includes('webgpu')) {
      try {
        adapter = (await getWebGPUDevice()).adapterName;
      } catch (e) {
        ctx.log(`rotation-opt: no WebGPU device (${(e as Error).message}); webgpu rows skipped`);
        backends.splice(backends.indexOf('webgpu'), 1);
      }
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
    const captured: CapturedInputs = captureInputs(model, seqs, ['attn', 'ffn'], gemm);
    const iters = { dfrot: ctx.quick ? 2 : 20, adacodec: ctx.quick ? 2 : 30 };
    const records: BenchRecord[] = [];
    const cpuSeconds = new Map<Method, number>();
    for (const backend of backends) {
      for (const method of ['dfrot', 'adacodec'] as const) {
        const opts = (k: number): MethodOptions => ({
          method,
          format: 'int4',
          seed: 0,
          gemm,
          dfrot: { iterations: k },
          adacodec: { iterations: k },
        });
        const run = (k: number) =>
          backend === 'cpu'
            ? Promise.resolve(buildPlan(model, captured, opts(k)))
            : buildPlanWebGPU(model, captured, opts(k));
        await run(1); // warm-up: pipelines, wasm
        const t0 = performance.now();
        const { report } = await run(iters[method]);
        const ms = performance.now() - t0;
        const s = report.seconds;
        if (backend === 'cpu') cpuSeconds.set(method, s);
        const cpu = cpuSeconds.get(method);
        const c = report.curves;
        const lossNote = c.length
          ? `loss ${c[0]!.loss[0]!.toExponential(3)} → ${c[0]!.loss[c[0]!.best]!.toExponential(3)} (${c[0]!.key})`
          : '';
        ctx.log(
          `rotation-opt ${backend} ${method}: ${s.toFixed(2)} s optimising (${(ms / 1000).toFixed(2)} s plan; ${captured.rows} tokens per input, ${iters[method]} iterations)${cpu && backend !== 'cpu' ? `, ${(cpu / s).toFixed(2)}× cpu` : ''}; ${lossNote}`,
        );
        records.push({
          suite: 'rotation-opt',
          op: method === 'dfrot' ? 'dfrot-refine-R1' : 'adacodec-train',
          backend,
          n: model.config.dim,
          shape: `tokens=${captured.rows} inputs=${2 * model.config.nLayers} iterations=${iters[method]}`,
          median_ms: s * 1000,
          p75_ms: s * 1000,
          p99_ms: s * 1000,
          samples: 1,
          seconds: s,
          plan_seconds: ms / 1000,
          ...(backend !== 'cpu' && cpu ? { baseline: 'cpu', ratio: cpu / s } : {}),
          machine: backend === 'cpu' ? ctx.machine : adapter,
        });
      }
    }
    return records;
  },
};

export default suite;
