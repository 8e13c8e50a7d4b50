export { denseOrthogonal, randomOrthogonal, randomOrthogonalMatrix } from './orthogonal.js';
export { asOperator, rotationOperator } from './rotation-spec.js';
export {
  fuseNorms,
  normsAreFused,
  onlineHadamardDown,
  onlineRotateDown,
  rotateResidual,
  rotateValueOutput,
} from './transforms.js';
export { cloneModel, rotateInput, rotateOutput, scaleColumns } from './weights.js';
