import type { GpuForwardHooks, GpuModel } from '@nq/model/webgpu';
import {
  type CandidateScore,
  type ModelReference,
  type ReferenceOptions,
  referencePlan,
  scoreWith,
} from '../candidate.js';
import { runWindowsWebGPU } from './run-windows.js';

/*
 * buildReference / scoreCandidate on the GPU, for packages that build their own candidate model
 * (GPTQ, codecs, TurboQuant): upload it with @nq/model/webgpu's uploadModel and score it here. Same
 * windows, same statistics (CPU, float64) as the CPU versions; a ModelReference from either backend
 * works with either scorer.
 */

/** The full-precision model (uploaded) over the windows of `tokens`: its log-probs, kept in memory. */
export async function buildReferenceWebGPU(
  fp: GpuModel,
  tokens: ArrayLike<number>,
  opts: Omit<ReferenceOptions, 'gemm'> = {},
): Promise<ModelReference> {
  const vocab = fp.model.config.vocabSize;
  const { ids, windows, builder } = referencePlan(fp.model, tokens, opts);
  await runWindowsWebGPU(fp, ids, windows, (logits, _w, j, target) => builder.add(logits, j * vocab, target));
  return { ref: builder.ref, windows, tokens: ids };
}

/** PPL, KLD against the reference and top-1 agreement of an uploaded candidate (+ GPU hooks). */
export function scoreCandidateWebGPU(
  reference: ModelReference,
  candidate: GpuModel,
  hooks?: GpuForwardHooks,
): Promise<CandidateScore> {
  return scoreWith(reference, candidate.model.config.vocabSize, (onRow) =>
    runWindowsWebGPU(candidate, reference.tokens, reference.windows, onRow, hooks ? { hooks } : {}),
  );
}
