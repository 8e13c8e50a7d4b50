import type { LoadedModel } from '@nq/model';
import { type MethodOptions, type MethodReport, planSteps } from '../methods.js';
import type { CapturedInputs, CodecPlan } from '../pipeline.js';
import { refineDfrotWebGPU, trainAdaCodecWebGPU } from './train.js';

/**
 * buildPlan with DFRot's and AdaCodec's optimisation on the WebGPU device (same plan logic, seeds
 * and options as the cpu buildPlan; results agree up to float32 GEMMs and quantizer ties).
 */
export async function buildPlanWebGPU(
  model: LoadedModel,
  captured: CapturedInputs,
  o: MethodOptions,
): Promise<{ plan: CodecPlan; report: MethodReport }> {
  const steps = planSteps(model, captured, o);
  const chunkRows = captured.seqLen;
  let r = steps.next();
  while (!r.done) {
    const job = r.value;
    r =
      job.kind === 'dfrot'
        ? steps.next(
            await refineDfrotWebGPU(job.x, job.rows, job.n, job.init, o.format, {
              iterations: job.iterations,
              weights: job.weights,
              chunkRows,
              onIteration: job.onIteration,
            }),
          )
        : steps.next(await trainAdaCodecWebGPU(job.x, job.rows, job.n, o.format, { ...job.opts, chunkRows }));
  }
  return r.value;
}
