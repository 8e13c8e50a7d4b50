import { describe, expect, it } from 'vitest';
import { type BenchRecord, measure, printRecords, withBaseline } from '../src/bench.js';

// The benchmark record arithmetic, checked against its definitions (GB/s = bytes / (ms · 1e6)), and the
// two output forms. No speed is asserted.
describe('measure', () => {
  it('returns ordered percentiles and throughput derived from the median', async () => {
    const a = new Float64Array(1 << 14);
    let setups = 0;
    const rec = await measure(
      'unit',
      {
        op: 'fill',
        backend: 'cpu',
        n: a.length,
        shape: 'x',
        bytes: a.byteLength,
        flops: a.length,
        setup: () => {
          setups++;
        },
        fn: () => a.fill(1.5),
        time: 30,
        iterations: 5,
      },
      'test-machine',
    );
    expect(setups).toBe(1);
    expect(rec).toMatchObject({
      suite: 'unit',
      op: 'fill',
      backend: 'cpu',
      n: a.length,
      shape: 'x',
      machine: 'test-machine',
    });
    expect(rec.samples).toBeGreaterThanOrEqual(5);
    expect(rec.median_ms).toBeGreaterThan(0);
    expect(rec.p75_ms).toBeGreaterThanOrEqual(rec.median_ms);
    expect(rec.p99_ms).toBeGreaterThanOrEqual(rec.p75_ms);
    expect(rec.gbps).toBeCloseTo(a.byteLength / (rec.median_ms * 1e6), 12);
    expect(rec.gflops).toBeCloseTo(a.length / (rec.median_ms * 1e6), 12);
  });

  it('awaits async passes', async () => {
    let done = 0;
    const rec = await measure('unit', {
      op: 'sleep',
      backend: 'cpu',
      n: 1,
      fn: async () => {
        await new Promise((r) => setTimeout(r, 2));
        done++;
      },
      time: 20,
      iterations: 3,
    });
    expect(done).toBeGreaterThanOrEqual(3);
    expect(rec.median_ms).toBeGreaterThanOrEqual(1.5);
  });

  it('surfaces an error thrown by the measured function', async () => {
    await expect(
      measure('unit', {
        op: 'boom',
        backend: 'cpu',
        n: 1,
        fn: () => {
          throw new Error('kernel failed');
        },
        time: 5,
        iterations: 1,
      }),
    ).rejects.toThrow(/kernel failed/);
  });
});

const rec = (over: Partial<BenchRecord>): BenchRecord => ({
  suite: 's',
  op: 'o',
  backend: 'cpu',
  n: 8,
  median_ms: 2,
  p75_ms: 3,
  p99_ms: 4,
  samples: 10,
  machine: 'm',
  ...over,
});

describe('withBaseline', () => {
  it('divides by the baseline and names it', () => {
    expect(withBaseline(rec({ gbps: 5 }), 'triad-1t', 20)).toMatchObject({
      baseline: 'triad-1t',
      ratio: 0.25,
    });
    expect(withBaseline(rec({ gflops: 6, gbps: 1 }), 'peak', 3, 'gflops').ratio).toBe(2);
    expect(withBaseline(rec({ gbps: 5 }), 'triad-1t', 0).ratio).toBeUndefined();
    expect(withBaseline(rec({}), 'triad-1t', 10).ratio).toBeUndefined();
  });
});

describe('printRecords', () => {
  it('prints one parseable JSON object per line', () => {
    let out = '';
    printRecords([rec({ gbps: 1.5 }), rec({ op: 'p', median_ms: Number.NaN })], true, (s) => {
      out += s;
    });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ op: 'o', gbps: 1.5 });
    expect(JSON.parse(lines[1]!).median_ms).toBeNull();
  });

  it('prints an aligned table with a header and the machine', () => {
    let out = '';
    printRecords(
      [rec({ gbps: 123.456, baseline: 'triad-1t', ratio: 0.5 }), rec({ op: 'longer-op-name' })],
      false,
      (s) => {
        out += s;
      },
    );
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/suite\s+op\s+backend/);
    expect(new Set(lines.slice(0, 3).map((l) => l.length)).size).toBe(1);
    expect(lines[1]).toMatch(/123\.5\s+triad-1t\s+0\.500$/);
    expect(lines[3]).toBe('machine: m');
  });
});
