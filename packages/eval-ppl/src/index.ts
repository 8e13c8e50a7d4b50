export * from './windows.js';
export * from './stats/reference.js';
export * from './stats/token-scores.js';
export * from './stats/summary.js';
export { formatLlamaCppReport } from './stats/format.js';
export { logSoftmaxRow } from './stats/log-softmax.js';
export { readRefFile, writeRefFile, type RefManifest } from './cache/ref-file.js';
export { defaultCacheDir } from './cache/keys.js';
