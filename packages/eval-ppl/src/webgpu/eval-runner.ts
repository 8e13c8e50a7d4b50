import type { LoadedModel } from '@nq/model';
import { uploadModel } from '@nq/model/webgpu';
import type { EvalRunner } from '../evaluate.js';
import type { PreparedRecipe } from '../recipes/apply.js';
import { gpuRecipeHooks } from './recipe-hooks.js';
import { runWindowsWebGPU } from './run-windows.js';

/**
 * evaluate()'s backend 'webgpu': the fp model and the recipe's model are uploaded lazily (a cached
 * reference never uploads the fp model; an fp recipe shares one upload), the recipe's run-time
 * quantization becomes GPU hooks, and every window runs through runWindowsWebGPU.
 */
export async function webgpuEvalRunner(
  model: LoadedModel,
  prepared: PreparedRecipe,
  tokens: Int32Array,
): Promise<EvalRunner> {
  const { getWebGPUDevice } = await import('@nq/core/webgpu');
  const ctx = await getWebGPUDevice();
  const freers: (() => void)[] = [];
  let ref: Awaited<ReturnType<typeof uploadModel>> | null = null;
  let cand: { gm: Awaited<ReturnType<typeof uploadModel>>; hooks: ReturnType<typeof gpuRecipeHooks> } | null =
    null;
  const reference = async () => {
    if (!ref) {
      ref = await uploadModel(model);
      freers.push(ref.destroy.bind(ref));
    }
    return ref;
  };
  const candidate = async () => {
    if (!cand) {
      const gm = prepared.model === model ? await reference() : await uploadModel(prepared.model);
      if (gm !== ref) freers.push(gm.destroy.bind(gm));
      const hooks = gpuRecipeHooks(gm, prepared);
      freers.push(hooks.destroy);
      cand = { gm, hooks };
    }
    return cand;
  };
  return {
    device: ctx.adapterName,
    async run(which, windows, onRow, afterWindow) {
      if (which === 'reference') {
        await runWindowsWebGPU(await reference(), tokens, windows, onRow, { afterWindow });
        return;
      }
      const c = await candidate();
      const h = c.hooks.hooks;
      await runWindowsWebGPU(c.gm, tokens, windows, onRow, h ? { hooks: h, afterWindow } : { afterWindow });
    },
    close() {
      for (const f of freers.splice(0).reverse()) f();
    },
  };
}
