import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The part of node-llama-cpp (llama.cpp's Node binding, an optional benchmark dependency, never a
 * package dependency) that the model benchmarks use.
 */
export type LlamaSequenceInput = (number | [number, { generateNext: { logits: true } }])[];

export interface LlamaSequence {
  readonly nextTokenIndex: number;
  clearHistory(): Promise<void>;
  evaluateWithoutGeneratingNewTokens(t: number[]): Promise<void>;
  controlledEvaluate(input: LlamaSequenceInput): Promise<unknown[]>;
  /** Generates tokens after `t` (an async iterator of token ids). */
  evaluate(t: number[], o: { temperature: number }): AsyncIterable<number>;
  eraseContextTokenRanges(ranges: { start: number; end: number }[]): Promise<void>;
}

export interface LlamaModel {
  createContext(o: object): Promise<{
    getSequence(): LlamaSequence;
    dispose(): Promise<void>;
  }>;
  dispose(): Promise<void>;
}

export interface NodeLlamaCpp {
  getLlama(o: object): Promise<{
    loadModel(o: object): Promise<LlamaModel>;
    dispose(): Promise<void>;
  }>;
}

/** llama.cpp on the CPU with `gguf` loaded once for every llama.cpp row of a run; `close` frees both. */
export async function openLlamaModel(
  nlc: NodeLlamaCpp,
  gguf: string,
): Promise<{ model: LlamaModel; close: () => Promise<void> }> {
  const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: 0 });
  try {
    const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
    return {
      model,
      close: async () => {
        await model.dispose();
        await llama.dispose();
      },
    };
  } catch (e) {
    await llama.dispose();
    throw e;
  }
}

/** node-llama-cpp from NQ_NODE_LLAMA_CPP=<folder of an installed node-llama-cpp> or the import path; null (logged) when absent. */
export async function importNodeLlamaCpp(log: (m: string) => void): Promise<NodeLlamaCpp | null> {
  const dir = process.env.NQ_NODE_LLAMA_CPP;
  try {
    if (dir) return (await import(pathToFileURL(path.join(dir, 'dist/index.js')).href)) as NodeLlamaCpp;
    const name = 'node-llama-cpp';
    return (await import(name)) as NodeLlamaCpp;
  } catch (e) {
    log(
      `  model: node-llama-cpp not available (${(e as Error).message.split('\n')[0]}); skipping the llama.cpp comparison`,
    );
    return null;
  }
}
