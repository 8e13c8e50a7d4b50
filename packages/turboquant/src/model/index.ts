export { type DocsTable, type DocsTableOptions, openDocsTable } from './docs-table.js';
export { buildReference, type CandidateResult, type Reference, scoreCandidate } from './evaluate-model.js';
export {
  captureBlockHessians,
  type ModelBits,
  modelBits,
  quantizeModelTurboQuant,
  type TurboQuantModelOptions,
  turboquantModelBits,
} from './quantize-model.js';
