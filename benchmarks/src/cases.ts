import type { BenchCase, BenchRecord } from '@nq/core/bench';
import { measure, withBaseline } from '@nq/core/bench';
import { errorRecord } from './run.js';
import type { SuiteContext } from './suite.js';

/** A benchmark case plus which same-run baseline its ratio is taken against. */
export interface SuiteCase extends BenchCase {
  /** Default 'triad-1t' for cpu cases and 'triad-all' for the others. */
  baseline?: string;
  /** Which figure the ratio compares (default 'gbps'). */
  metric?: 'gbps' | 'gflops';
  /** What ran it, when not the CPU (e.g. the WebGPU adapter name); default ctx.machine. */
  machine?: string;
  /** Released after the case, pass or fail (GPU buffers, workers). */
  teardown?: () => unknown | Promise<unknown>;
}

/**
 * Measures cases one at a time, so a suite gets the runner's robustness for free: a case that throws
 * becomes an error record (and is logged) and the next case still runs. Cases whose backend is not
 * `ctx.backend` are skipped without running their setup.
 */
export async function measureCases(
  suite: string,
  ctx: SuiteContext,
  cases: SuiteCase[],
): Promise<BenchRecord[]> {
  const out: BenchRecord[] = [];
  for (const c of cases) {
    if (ctx.backend && c.backend !== ctx.backend) continue;
    const label = `${suite} ${c.op} ${c.backend} n=${c.n}${c.shape ? ` ${c.shape}` : ''}`;
    try {
      const rec = await measure(suite, c, c.machine ?? ctx.machine);
      const name = c.baseline ?? (c.backend === 'cpu' ? 'triad-1t' : 'triad-all');
      const base = ctx.baselines.get(name);
      out.push(base !== undefined ? withBaseline(rec, name, base, c.metric ?? 'gbps') : rec);
      ctx.log(`  ${label}: ${rec.median_ms.toFixed(3)} ms`);
    } catch (e) {
      ctx.log(`  ${label}: FAILED ${(e as Error)?.message ?? e}`);
      out.push({
        ...errorRecord(suite, c.backend, e, c.machine ?? ctx.machine),
        op: c.op,
        n: c.n,
        ...(c.shape ? { shape: c.shape } : {}),
      });
    } finally {
      try {
        await c.teardown?.();
      } catch (e) {
        ctx.log(`  ${label}: teardown failed: ${(e as Error)?.message ?? e}`);
      }
    }
  }
  return out;
}
