import type { Suite } from '../suite.js';
import { measureTriad } from '../triad.js';

/**
 * The memory-bandwidth baseline as a suite of its own (`pnpm bench triad`). The runner measures the
 * triad before every run anyway and hands the records over in ctx.baselineRecords, so asking for this
 * suite costs nothing extra; called on its own (programmatically) it measures.
 */
const suite: Suite = {
  name: 'triad',
  description:
    'STREAM triad a[i] = b[i] + s·c[i] on float32 arrays beyond cache: memory GB/s, 1 thread and all threads',
  async run(ctx) {
    if (ctx.baselineRecords?.length) return ctx.baselineRecords;
    const r = await measureTriad({ n: ctx.quick ? 8 * 1024 * 1024 : undefined, log: ctx.log });
    return r.records;
  },
};

export default suite;
