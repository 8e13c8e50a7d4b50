import fs from 'node:fs';
import path from 'node:path';
import { NqInputError } from '@nq/core';
import { type LoadedModel, loadModel, Tokenizer } from '@nq/model';
import { defaultCacheDir, sha256, sha256Arrays, sha256File, stableJson } from './cache/keys.js';
import { readRefFile, writeRefFile } from './cache/ref-file.js';
import { type ScoreStats, scoreStats } from './candidate.js';
import { type PreparedRecipe, prepareRecipe } from './recipes/apply.js';
import { type RecipeSpec, resolveRecipe } from './recipes/spec.js';
import { type RowFn, runWindows } from './run-windows.js';
import { formatLlamaCppReport } from './stats/format.js';
import { RefBuilder, type RefLogprobs, type RefStorage, validateStorage } from './stats/reference.js';
import { type KlReport, summarize } from './stats/summary.js';
import { newTokenScores, PositionScorer, type TokenScores } from './stats/token-scores.js';
import { type EvalWindow, makeWindows, scoredInWindow, totalScored } from './windows.js';

/** Progress of a long evaluation; the CLI renders it. */
export interface EvalProgress {
  /** 'reference': computing the full-precision log-probs (first run only); 'candidate': the recipe. */
  phase: 'reference' | 'candidate';
  windowsDone: number;
  windowsTotal: number;
  tokensDone: number;
  tokensTotal: number;
  elapsedSeconds: number;
  tokensPerSecond: number;
  /** Seconds left in this phase, from the rate so far. */
  etaSeconds: number;
}

export interface EvalOptions {
  /** A model file (llama2.c .bin, safetensors, GGUF) or a loaded model. */
  model: string | LoadedModel;
  /** The text file to evaluate (read whole, encoded once, no BOS). Or pass `tokens`. */
  text?: string;
  /** Pre-encoded token ids instead of `text`. */
  tokens?: ArrayLike<number>;
  /** Tokenizer file or instance; default: the tokenizer beside the model file (tok*.model, tokenizer.model, tok*.bin, tokenizer.bin). */
  tokenizer?: string | Tokenizer;
  /** Recipe name (see recipeFromName), a RecipeSpec, JSON text, or a .json file path. Default 'fp'. */
  recipe?: string | RecipeSpec;
  /** Window length in tokens (default 256). */
  ctx?: number;
  /** Sliding-window stride; unset = non-overlapping windows. */
  stride?: number;
  /** Evaluate only N windows: the first N, or N spread over the text with select: 'spread'. */
  windows?: number;
  select?: 'first' | 'spread';
  /** Seeds every random rotation of the recipe (default 0). */
  seed?: number;
  /**
   * How the reference distribution is stored: 'auto' (default) keeps the full vocabulary when that
   * takes ≤ 512 MiB for this protocol, else the top 64 + remainder mass.
   */
  refStorage?: RefStorage | 'auto';
  /** Cache folder for reference log-probs, or false to neither read nor write one. Default defaultCacheDir(). */
  cache?: string | false;
  onProgress?: (p: EvalProgress) => void;
  /**
   * Where the forward passes run (default 'cpu'). 'webgpu': @nq/model's WebGPU forward with the
   * recipe's run-time quantization as GPU hooks (src/webgpu/); the weights are still prepared on
   * the CPU, and log-softmax + statistics stay on the CPU in float64 (logits are read back per
   * window). A cached CPU reference is reused; a reference built on the GPU is cached under its own
   * key, so CPU runs never read GPU-built numbers.
   */
  backend?: 'cpu' | 'webgpu';
}

/** One result row: the CLI's `--json` object. */
export interface EvalResult extends ScoreStats {
  recipe: string;
  spec: RecipeSpec;
  windows: number;
  /** How the windows were chosen when `windows` limited them. */
  select: 'first' | 'spread';
  tokens_scored: number;
  ctx: number;
  stride: number | null;
  seed: number;
  /** Wall-clock seconds of the whole call (loading, reference when not cached, candidate). */
  seconds: number;
  candidate_seconds: number;
  /** Candidate tokens (window tokens run through the model) per second. */
  tokens_per_second: number;
  /** Where the forward passes ran: 'cpu', or 'webgpu' (+ `device`, the adapter's name). */
  backend: 'cpu' | 'webgpu';
  device?: string;
  reference: { cached: boolean; file: string | null; seconds: number };
  provenance: {
    model: string | null;
    model_sha256: string;
    tokenizer_sha256: string | null;
    text: string | null;
    text_sha256: string;
    rotations: string[];
  };
  /** Everything llama.cpp's --kl-divergence reports. */
  report: KlReport;
  /** The same, as llama.cpp prints it. */
  report_text: string;
}

const AUTO_FULL_BYTES = 512 * 2 ** 20;
const AUTO_TOPK = 64;
/** Bump when anything that changes reference log-probs changes (forward pass, storage format). */
const REF_VERSION = 1;

/** A recipe name, JSON text, a RecipeSpec, or the path of a .json file holding one → validated spec. */
export function loadRecipe(recipe: string | RecipeSpec, seed = 0): RecipeSpec {
  if (typeof recipe === 'string' && recipe.trim().endsWith('.json')) {
    const file = path.resolve(recipe.trim());
    if (!fs.existsSync(file))
      throw new NqInputError(
        'recipe',
        `file ${file} does not exist`,
        'Pass a recipe name or the path of a JSON RecipeSpec.',
      );
    return resolveRecipe(fs.readFileSync(file, 'utf8'), seed);
  }
  return resolveRecipe(recipe, seed);
}

function findTokenizer(modelPath: string): string {
  const dir = path.dirname(modelPath);
  const files = fs.readdirSync(dir);
  for (const re of [/^tok.*\.model$/, /^tokenizer\.model$/, /^tok.*\.bin$/, /^tokenizer\.bin$/]) {
    const f = files.filter((x) => re.test(x)).sort()[0];
    if (f) return path.join(dir, f);
  }
  throw new NqInputError(
    'tokenizer',
    `no tokenizer found beside ${modelPath}`,
    'Pass tokenizer: <path to tokenizer.model or tokenizer.bin>, or pre-encoded tokens.',
  );
}

/** Runs windows through the fp model ('reference') or the recipe ('candidate') on one backend. */
export interface EvalRunner {
  run: (
    which: 'reference' | 'candidate',
    windows: EvalWindow[],
    onRow: RowFn,
    afterWindow: (index: number, w: EvalWindow) => void,
  ) => Promise<void>;
  /** Frees backend resources (GPU buffers). */
  close: () => void;
  /** The device's name on GPU backends. */
  device?: string;
}

/** Perplexity and KL divergence of a recipe against the full-precision model (CPU or WebGPU). */
export async function evaluate(opts: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const backend = opts.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu')
    throw new NqInputError(
      'backend',
      `must be 'cpu' or 'webgpu', got ${String(backend)}`,
      "Pass 'cpu' or 'webgpu'.",
    );
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0)
    throw new NqInputError('seed', `must be a non-negative integer, got ${seed}`, 'Pass e.g. 0.');
  const spec = loadRecipe(opts.recipe ?? 'fp', seed);
  const ctx = opts.ctx ?? 256;

  // Model.
  let model: LoadedModel;
  let modelHash: string;
  let modelPath: string | null = null;
  if (typeof opts.model === 'string') {
    modelPath = path.resolve(opts.model);
    if (!fs.existsSync(modelPath))
      throw new NqInputError(
        'model',
        `file ${modelPath} does not exist`,
        'Pass the path of a .bin, .safetensors or .gguf model.',
      );
    model = await loadModel(modelPath);
    modelHash = sha256File(modelPath);
  } else if (opts.model && typeof opts.model === 'object' && 'weights' in opts.model) {
    model = opts.model;
    modelPath = model.source.path ?? null;
    const w = model.weights;
    modelHash = sha256Arrays([
      new Int32Array([w.layers.length, model.config.dim, model.config.vocabSize]),
      w.tokenEmbedding.data,
      ...w.layers.flatMap((L) => [
        L.attnNorm,
        L.q.data,
        L.k.data,
        L.v.data,
        L.o.data,
        L.ffnNorm,
        L.gate.data,
        L.up.data,
        L.down.data,
      ]),
      w.finalNorm,
      w.output.data,
    ]);
  } else {
    throw new NqInputError(
      'model',
      'is neither a file path nor a LoadedModel',
      'Pass a model path or the result of loadModel().',
    );
  }
  if (ctx > model.config.seqLen) {
    throw new NqInputError(
      'ctx',
      `is ${ctx}, longer than the model's context ${model.config.seqLen}`,
      `Use ctx ≤ ${model.config.seqLen}.`,
    );
  }

  // Text → tokens.
  let tokens: Int32Array;
  let textHash: string;
  let textPath: string | null = null;
  let tokHash: string | null = null;
  if (opts.tokens) {
    tokens = Int32Array.from(opts.tokens);
    textHash = sha256(tokens);
  } else if (opts.text) {
    textPath = path.resolve(opts.text);
    if (!fs.existsSync(textPath))
      throw new NqInputError(
        'text',
        `file ${textPath} does not exist`,
        'Pass the path of a UTF-8 text file.',
      );
    const bytes = fs.readFileSync(textPath);
    textHash = sha256(bytes);
    let tokenizer: Tokenizer;
    if (opts.tokenizer instanceof Tokenizer) {
      tokenizer = opts.tokenizer;
    } else {
      const tp = opts.tokenizer ?? (modelPath ? findTokenizer(modelPath) : null);
      if (!tp)
        throw new NqInputError(
          'tokenizer',
          'is required for an in-memory model',
          'Pass tokenizer: <path>, or tokens.',
        );
      tokenizer = await Tokenizer.fromFile(tp);
      tokHash = sha256File(tp);
    }
    tokens = tokenizer.encode(bytes.toString('utf8'));
  } else {
    throw new NqInputError('text', 'is missing', 'Pass text: <path to a text file> or tokens.');
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t < 0 || t >= model.config.vocabSize)
      throw new NqInputError(
        `tokens[${i}]`,
        `is ${t}, outside the model's vocabulary ${model.config.vocabSize}`,
        'Use the tokenizer that belongs to this model.',
      );
  }

  const windows = makeWindows(tokens.length, {
    ctx,
    stride: opts.stride,
    maxWindows: opts.windows,
    select: opts.select,
  });
  const positions = totalScored(windows);
  const vocab = model.config.vocabSize;
  const storage: RefStorage =
    opts.refStorage === undefined || opts.refStorage === 'auto'
      ? positions * vocab * 4 <= AUTO_FULL_BYTES
        ? { kind: 'full' }
        : { kind: 'topk', k: AUTO_TOPK }
      : validateStorage(opts.refStorage, vocab);
  const protocol = {
    ctx,
    stride: opts.stride ?? null,
    windows: windows.length,
    select: opts.select ?? 'first',
    starts: sha256(Int32Array.from(windows, (w) => w.start)),
    storage,
  };
  const key = sha256(
    stableJson({
      kind: 'nq-ref-logprobs',
      refVersion: REF_VERSION,
      model: modelHash,
      tokenizer: tokHash,
      text: textHash,
      tokens: sha256(tokens),
      protocol,
    }),
  );
  const cacheDir = opts.cache === false ? null : (opts.cache ?? defaultCacheDir());
  const cpuCacheFile = cacheDir ? path.join(cacheDir, `ref-${key.slice(0, 32)}.nqlp`) : null;
  // A GPU-built reference gets its own key (float32 sums in another order: not bit-identical).
  const gpuKey = sha256(stableJson({ kind: 'nq-ref-logprobs-backend', key, backend }));
  const cacheFile =
    backend === 'cpu' || !cacheDir ? cpuCacheFile : path.join(cacheDir, `ref-${gpuKey.slice(0, 32)}.nqlp`);
  const cacheKey = backend === 'cpu' ? key : gpuKey;

  const prepared = prepareRecipe(model, spec);
  const runner = await makeRunner(backend, model, prepared, tokens);
  try {
    // Reference: from the cache, or one full-precision pass (which also scores an fp candidate).
    const isFp = !spec.weights && !spec.activations && !spec.rotation && !spec.quarot && !spec.kv;
    let ref: RefLogprobs | null = null;
    let refCached = false;
    let refSeconds = 0;
    let refFile = cacheFile;
    // The CPU reference first (the exact one, shared by every backend), then this backend's own.
    for (const [file, k] of [
      [cpuCacheFile, key],
      [cacheFile, cacheKey],
    ] as const) {
      if (ref || !file || !fs.existsSync(file)) continue;
      try {
        ref = readRefFile(file, k).ref;
        refCached = true;
        refFile = file;
      } catch {
        // A corrupt or foreign file is recomputed and replaced.
        ref = null;
      }
    }
    let scores: TokenScores | null = null;
    let candSeconds = 0;
    if (!ref) {
      const tr = performance.now();
      const builder = new RefBuilder(vocab, positions, storage);
      const fpScores = isFp ? newTokenScores(positions) : null;
      let scorer: PositionScorer | null = null;
      await runWindowsWithProgress(runner, windows, 'reference', opts.onProgress, (logits, w, j, target) => {
        const pos = builder.filled;
        builder.add(logits, j * vocab, target);
        if (fpScores) {
          scorer ??= new PositionScorer(builder.ref);
          scorer.score(logits, j * vocab, target, pos, fpScores);
        }
        void w;
      });
      ref = builder.ref;
      refSeconds = (performance.now() - tr) / 1000;
      if (cacheFile)
        writeRefFile(cacheFile, ref, cacheKey, {
          model: modelPath,
          modelHash,
          tokenizerHash: tokHash,
          text: textPath,
          textHash,
          protocol,
          refVersion: REF_VERSION,
          backend: runner.device ? `${backend} (${runner.device})` : backend,
        });
      if (fpScores) {
        scores = fpScores;
        candSeconds = refSeconds;
      }
    }

    if (!scores) {
      const tc = performance.now();
      const s = newTokenScores(positions);
      const scorer = new PositionScorer(ref);
      let pos = 0;
      await runWindowsWithProgress(runner, windows, 'candidate', opts.onProgress, (logits, _w, j, target) => {
        scorer.score(logits, j * vocab, target, pos++, s);
      });
      scores = s;
      candSeconds = (performance.now() - tc) / 1000;
    }

    const report = summarize(scores);
    const windowTokens = windows.length * ctx;
    return {
      recipe: spec.name,
      spec,
      ...scoreStats(report, ref.storage),
      windows: windows.length,
      select: opts.select ?? 'first',
      tokens_scored: positions,
      ctx,
      stride: opts.stride ?? null,
      seed,
      seconds: (performance.now() - t0) / 1000,
      candidate_seconds: candSeconds,
      tokens_per_second: windowTokens / candSeconds,
      backend,
      ...(runner.device ? { device: runner.device } : {}),
      reference: { cached: refCached, file: refFile, seconds: refSeconds },
      provenance: {
        model: modelPath,
        model_sha256: modelHash,
        tokenizer_sha256: tokHash,
        text: textPath,
        text_sha256: textHash,
        rotations: prepared.rotations,
      },
      report,
      report_text: formatLlamaCppReport(report),
    };
  } finally {
    runner.close();
  }
}

/**
 * The reference (fp model) and candidate (prepared recipe) window runners of one backend. WebGPU
 * code is imported only when asked for, so CPU users never load dawn-node.
 */
async function makeRunner(
  backend: 'cpu' | 'webgpu',
  model: LoadedModel,
  prepared: PreparedRecipe,
  tokens: Int32Array,
): Promise<EvalRunner> {
  if (backend === 'cpu') {
    return {
      run: async (which, windows, onRow, afterWindow) =>
        runWindows(
          which === 'reference' ? model : prepared.model,
          tokens,
          windows,
          onRow,
          which === 'candidate' && prepared.hooks ? { hooks: prepared.hooks, afterWindow } : { afterWindow },
        ),
      close: () => {},
    };
  }
  const gpu = await import('./webgpu/eval-runner.js');
  return gpu.webgpuEvalRunner(model, prepared, tokens);
}

/** runWindows with evaluate()'s progress reports. */
async function runWindowsWithProgress(
  runner: EvalRunner,
  windows: EvalWindow[],
  phase: EvalProgress['phase'],
  onProgress: EvalOptions['onProgress'],
  onRow: RowFn,
): Promise<void> {
  const t0 = performance.now();
  const total = windows.length;
  const tokensTotal = totalScored(windows);
  let tokensDone = 0;
  await runner.run(phase, windows, onRow, (i, w) => {
    tokensDone += scoredInWindow(w);
    if (!onProgress) return;
    const el = (performance.now() - t0) / 1000;
    const rate = tokensDone / Math.max(el, 1e-9);
    onProgress({
      phase,
      windowsDone: i + 1,
      windowsTotal: total,
      tokensDone,
      tokensTotal,
      elapsedSeconds: el,
      tokensPerSecond: rate,
      etaSeconds: (tokensTotal - tokensDone) / rate,
    });
  });
}
