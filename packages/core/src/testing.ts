/**
 * `@nq/core/testing`: conformance helpers (compare a backend against the CPU reference) and the
 * shared-model file helpers for tests. Node only (the shared-file helpers use node:fs), which is why
 * this is its own entry and not part of `@nq/core`.
 */
export * from './conformance.js';
export * from './testing-shared.js';
