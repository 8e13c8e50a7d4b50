export { fuseNorms, normsAreFused, rotateResidual, onlineRotateDown, onlineHadamardDown, rotateValueOutput } from './transforms.js';
export { denseOrthogonal, randomOrthogonal, randomOrthogonalMatrix } from './orthogonal.js';
export { cloneModel, scaleColumns, rotateInput, rotateOutput } from './weights.js';
export { rotationOperator, asOperator } from './rotation-spec.js';
