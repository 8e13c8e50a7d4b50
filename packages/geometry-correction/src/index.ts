// @nq/geometry-correction — is quantization error recoverable, and can statistics predict the correction?
export * from './calib.js';
export * from './capture.js';
export * from './cpu/index.js';
export * from './downstream.js';
export * from './q1.js';
export * from './q2.js';
export * from './report.js';
export * from './setting.js';
export * from './stats.js';
export * from './study.js';
export * from './verdict.js';
