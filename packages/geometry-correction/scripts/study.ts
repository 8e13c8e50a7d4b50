/**
 * The geometry-correction study: every model under ../shared/models × seeds 42, 123, 999.
 * `pnpm --filter @nq/geometry-correction study [--models a,b] [--seeds 42,123] [--out dir]
 *  [--recipe w4a4-rtn-token] [--windows 16] [--length 128] [--heldout 4] [--folds 4] [--no-readme]`
 * Writes the CSVs under results/ (or --out) and the verdict section of README.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  discoverModels,
  readmeSection,
  runStudy,
  STUDY_SEEDS,
  spliceReadme,
  writeResults,
} from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const shared = path.resolve(here, '../../../../shared');
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('models')?.split(',');
const seeds = opt('seeds')?.split(',').map(Number) ?? [...STUDY_SEEDS];
const out = path.resolve(opt('out') ?? path.join(here, '../results'));
const recipe = opt('recipe') ?? 'w4a4-rtn-token';
const windows = Number(opt('windows') ?? 16);
const windowLength = Number(opt('length') ?? 128);
const heldOutWindows = Number(opt('heldout') ?? 4);
const folds = Number(opt('folds') ?? 4);

const models = discoverModels(path.join(shared, 'models')).filter((m) => !only || only.includes(m.name));
if (models.length === 0) {
  console.error(`no models found under ${path.join(shared, 'models')}`);
  process.exit(1);
}
console.error(`models: ${models.map((m) => m.name).join(', ')}; seeds ${seeds.join(', ')}; recipe ${recipe}`);
const t0 = performance.now();
const results = await runStudy({
  models,
  seeds,
  calibPath: path.join(shared, 'data/docs-calib.txt'),
  recipe,
  windows,
  windowLength,
  heldOutWindows,
  folds,
  onSetting: (r, s) => {
    const x = r.summary;
    console.error(
      `${x.model} seed ${x.seed}: med R_float ${x.medianRLinFloat.toFixed(3)} R_q4 ${x.medianRLinQ4.toFixed(3)} ρ ${x.spearmanAnisotropy.toFixed(2)} → Q1 ${x.verdictQ1}; ` +
        `MSE emb ${x.mseEmbedding.toFixed(3)} feat ${x.mseFeatures.toFixed(3)} both ${x.mseBoth.toFixed(3)}; gain feat ${x.gainFeatures.toFixed(4)} both ${x.gainBoth.toFixed(4)} → Q2 ${x.verdictQ2} (${s.toFixed(1)} s)`,
    );
  },
});
const files = writeResults(results, out);
console.error(
  `wrote ${files.length} files under ${out} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
if (!args.includes('--no-readme')) {
  const readmePath = path.join(here, '../README.md');
  const sizes = `${windows} calibration windows of ${windowLength} tokens per setting from docs-calib.txt: ${windows - heldOutWindows} training (ridge α by ${folds}-fold cross-validation over whole windows) + ${heldOutWindows} held out; recipe ${recipe}`;
  const section = readmeSection(results, { command: 'pnpm --filter @nq/geometry-correction study', sizes });
  fs.writeFileSync(
    readmePath,
    spliceReadme(
      fs.existsSync(readmePath) ? fs.readFileSync(readmePath, 'utf8') : '# @nq/geometry-correction\n',
      section,
    ),
  );
  console.error(`updated ${readmePath}`);
}
