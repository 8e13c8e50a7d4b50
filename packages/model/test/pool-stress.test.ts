import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The worker pool synchronises with Atomics.wait; a bug there is a hang that no vitest timeout can
// interrupt, so every scenario runs in a child process with a hard timeout (helpers/pool-stress.ts).
const modelDir = path.resolve(import.meta.dirname, '..');

function runChild(args: string[], timeoutMs: number) {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', 'test/helpers/pool-stress.ts', ...args],
    { cwd: modelDir, encoding: 'utf8', timeout: timeoutMs },
  );
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let result: Record<string, unknown> | null = null;
  try {
    result = JSON.parse(last);
  } catch {
    result = null;
  }
  return { status: r.status, signal: r.signal, result, tail: `${r.stdout}\n${r.stderr}`.slice(-3000) };
}

describe('GEMM worker pool under stress (child process, hard timeout)', () => {
  it('16 threads × 3000 random small GEMMs (many with fewer columns than threads), memory growth, pools re-created: no hang, exact results', () => {
    const r = runChild(['stress', '16', '3000', '7'], 150_000);
    expect(r.signal, `child was killed (hang?)\n${r.tail}`).toBeNull();
    expect(r.status, r.tail).toBe(0);
    expect(r.result).toMatchObject({ ok: true, threads: 16, calls: 3000, recreated: 2 });
    expect(r.result!.worst as number).toBeLessThan(1e-5);
    // 15 workers, each ready, with its counters (task/done/blocks/late) in the diagnostics line.
    expect(r.result!.diagnostics as string).toMatch(
      /^main late \d+; #1 ready task \d+ done \d+ blocks \d+ late \d+;/,
    );
    expect((r.result!.diagnostics as string).match(/ ready /g)?.length).toBe(15);
  }, 160_000);

  it.each([
    ['throw', /worker #2 failed: Error: fault injected for tests/],
    ['exit', /worker #2 exited/],
    ['hang', /worker #2 made no progress for \d+ ms \(watchdog\)/],
  ] as const)(
    'a worker that %s makes the call throw NqBackendError (and the pool stays broken), never hang',
    (kind, re) => {
      const r = runChild(['fault', kind], 60_000);
      expect(r.signal, `child was killed (hang?)\n${r.tail}`).toBeNull();
      expect(r.status, r.tail).toBe(0);
      const errors = r.result!.errors as string[];
      // Calls 1 and 2 succeed; call 3 hits the fault; call 4 is refused because the pool is broken.
      expect(errors.length).toBe(2);
      expect(errors[0]).toMatch(/^call 3: cpu: GEMM worker pool: /);
      expect(errors[0]).toMatch(re);
      expect(errors[1]).toMatch(/^call 4: /);
      expect(errors[1]).toMatch(re);
      expect(errors[0]).toMatch(/close\(\) it and use a new pool or threads: 1/);
    },
    70_000,
  );
});
