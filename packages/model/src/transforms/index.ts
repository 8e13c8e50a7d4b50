export { fuseNorms, normsAreFused, rotateResidual, onlineRotateDown, rotateValueOutput } from './transforms.js';
export { denseOrthogonal, randomOrthogonal, randomOrthogonalMatrix } from './orthogonal.js';
export { cloneModel, scaleColumns, rotateInput, rotateOutput } from './weights.js';
