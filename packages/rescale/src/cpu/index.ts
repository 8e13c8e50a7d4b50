// The CPU implementation is the package itself (every function is plain TypeScript on typed arrays).
export * from '../index.js';
