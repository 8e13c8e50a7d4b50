export { forwardGroup, fwht64, groupSigns, inverseGroup } from './transform.js';
export {
  nearestCentroid,
  rotateNormalized,
  type TurboQuantized,
  turboquantDequantize,
  turboquantFakeQuant,
  turboquantQuantize,
} from './turboquant.js';
