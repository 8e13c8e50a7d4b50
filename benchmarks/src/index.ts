export type { SuiteCase } from './cases.js';
export { measureCases } from './cases.js';
export type { RunOptions, SuiteInfo } from './run.js';
export { BACKENDS, errorRecord, listSuiteFiles, loadSuite, runBenchmarks, selectSuites } from './run.js';
export type { Suite, SuiteContext } from './suite.js';
export type { TriadOptions, TriadResult } from './triad.js';
export { measureTriad, TRIAD_BYTES_PER_ELEMENT } from './triad.js';
