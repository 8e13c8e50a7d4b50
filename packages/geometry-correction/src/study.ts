// The whole study: discover models, run every model × seed, write the result files.

import fs from 'node:fs';
import path from 'node:path';
import { loadModel, Tokenizer } from '@nq/model';
import { profiles, q1Rows, q2Rows, settingCsv, toCsv } from './report.js';
import { runSetting, type SettingOptions, type SettingResult } from './setting.js';

export const STUDY_SEEDS: readonly number[] = [42, 123, 999];

export interface DiscoveredModel {
  name: string;
  checkpoint: string;
  tokenizer: string;
}

/**
 * Every folder of `modelsDir` holding a llama2.c checkpoint (*.bin other than tok*.bin / tokenizer.bin)
 * and a SentencePiece tokenizer (tok*.model or tokenizer.model), sorted by (parameters, name) —
 * here by file size as a proxy, then name, so the order is stable.
 */
export function discoverModels(modelsDir: string): DiscoveredModel[] {
  if (!fs.existsSync(modelsDir)) return [];
  const out: (DiscoveredModel & { size: number })[] = [];
  for (const name of fs.readdirSync(modelsDir).sort()) {
    const dir = path.join(modelsDir, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    const files = fs.readdirSync(dir).sort();
    const ckpt = files.find((f) => f.endsWith('.bin') && !/^tok.*\.bin$|^tokenizer\.bin$/.test(f));
    const tok = files.find((f) => /^tok.*\.model$/.test(f)) ?? files.find((f) => f === 'tokenizer.model');
    if (!ckpt || !tok) continue;
    out.push({
      name,
      checkpoint: path.join(dir, ckpt),
      tokenizer: path.join(dir, tok),
      size: fs.statSync(path.join(dir, ckpt)).size,
    });
  }
  return out.sort((a, b) => a.size - b.size || a.name.localeCompare(b.name)).map(({ size: _s, ...m }) => m);
}

export interface StudyOptions
  extends Omit<SettingOptions, 'name' | 'model' | 'seed' | 'encode' | 'calibText'> {
  models: DiscoveredModel[];
  seeds?: readonly number[];
  calibPath: string;
  onSetting?: (r: SettingResult, seconds: number) => void;
}

export async function runStudy(opts: StudyOptions): Promise<SettingResult[]> {
  const { models, seeds = STUDY_SEEDS, calibPath, onSetting, ...rest } = opts;
  const text = fs.readFileSync(calibPath, 'utf8');
  const results: SettingResult[] = [];
  const tokenizers = new Map<string, Tokenizer>();
  for (const m of models) {
    const model = await loadModel(m.checkpoint);
    const tb = fs.readFileSync(m.tokenizer);
    let tok = tokenizers.get(tb.toString('base64'));
    if (!tok) {
      tok = await Tokenizer.fromFile(m.tokenizer);
      tokenizers.set(tb.toString('base64'), tok);
    }
    const t = tok;
    for (const seed of seeds) {
      const t0 = performance.now();
      const r = runSetting({
        ...rest,
        name: m.name,
        model,
        seed,
        calibText: text,
        encode: (s) => t.encode(s),
      });
      results.push(r);
      onSetting?.(r, (performance.now() - t0) / 1000);
    }
  }
  return results;
}

/** Writes summary.csv, settings/<model>-seed<seed>.csv, q1_layers.csv, q2_layers.csv, profiles.csv. */
export function writeResults(results: SettingResult[], dir: string): string[] {
  fs.mkdirSync(path.join(dir, 'settings'), { recursive: true });
  const written: string[] = [];
  const put = (rel: string, text: string) => {
    fs.writeFileSync(path.join(dir, rel), text);
    written.push(rel);
  };
  put('summary.csv', toCsv(results.map((r) => r.summary)));
  for (const r of results)
    put(`settings/${r.summary.model}-seed${r.summary.seed}.csv`, settingCsv(r.summary));
  put('q1_layers.csv', toCsv(q1Rows(results)));
  put('q2_layers.csv', toCsv(q2Rows(results)));
  put('profiles.csv', toCsv(profiles(results)));
  return written;
}
