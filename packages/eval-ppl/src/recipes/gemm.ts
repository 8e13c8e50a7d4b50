import { defaultWasmGemm, type GemmFn, gemmABt } from '@nq/model/cpu';

let cached: GemmFn | undefined;

/** The GEMM the forward pass uses by default (WebAssembly SIMD where available, else JS), so hooks run as fast as the default linears. */
export function fastGemm(): GemmFn {
  cached ??= defaultWasmGemm()?.gemm ?? gemmABt;
  return cached;
}
