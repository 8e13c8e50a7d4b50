/**
 * @nq/rescale/webgpu — the heavy parts of channel rescaling on WebGPU: per-channel activation
 * statistics over calibration tokens (max|x|, mean|x|, the Hessian diagonal mean x²; on the GPU
 * forward pass's activations) and AWQ's grid search (GEMM-bound). CPU counterparts in @nq/rescale.
 */
export { type AwqSearchWebGPUOptions, awqSearchWebGPU, recordScaleColumns } from './awq.js';
export { CHANNEL_STATS_WGSL, SCALE_COLUMNS_WGSL } from './shaders.js';
export {
  type ChannelPartials,
  ChannelStatsAccumulator,
  channelStatsWebGPU,
  collectInputStatsWebGPU,
  readChannelPartials,
  recordChannelStats,
} from './stats.js';
