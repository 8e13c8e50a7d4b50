import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultsStore } from '../src/store/results-store.js';
import { expandGrid } from '../src/sweep/grid.js';
import { loadSweepFile } from '../src/sweep/load.js';
import { lineCount, runCli, spawnCli, tmpDir, writeSmallSweep } from './helpers.js';

// Cells big enough (~0.1 s each) that a kill lands mid-sweep.

const bigger = (f: string) =>
  fs.writeFileSync(
    f,
    fs
      .readFileSync(f, 'utf8')
      .replace('tokens: 32', 'tokens: 256')
      .replace('channels: 64', 'channels: 256')
      .replace('out: 16', 'out: 128'),
  );

async function waitForRows(file: string, n: number, child: ReturnType<typeof spawnCli>): Promise<void> {
  const t0 = Date.now();
  while (lineCount(file) < n) {
    if (child.exitCode !== null) throw new Error(`sweep exited (${child.exitCode}) before writing ${n} rows`);
    if (Date.now() - t0 > 90_000) throw new Error('timed out waiting for rows');
    await new Promise((r) => setTimeout(r, 15));
  }
}

function exitOf(
  child: ReturnType<typeof spawnCli>,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  child.stdout!.resume();
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

function checkComplete(sweepFile: string, out: string): void {
  const ids = expandGrid(loadSweepFile(sweepFile)).cells.map((c) => c.id);
  const store = ResultsStore.openRead(out);
  expect(store.skipped).toBe(0);
  const history = store.history().map((r) => r.cell);
  // Every cell exactly once: nothing lost, nothing duplicated.
  expect(history.slice().sort()).toEqual(ids.slice().sort());
}

describe('a killed sweep resumes with no lost or duplicated row', () => {
  it('SIGKILL mid-sweep (plus a torn last line), then rerun', async () => {
    const dir = tmpDir('kill');
    const sweep = writeSmallSweep(dir, 'killme', [0, 1, 2]);
    bigger(sweep);
    const out = path.join(dir, 'r.jsonl');
    const child = spawnCli(['sweep', sweep, '--out', out, '--no-progress']);
    const done = exitOf(child);
    await waitForRows(out, 4, child);
    child.kill('SIGKILL');
    const { signal } = await done;
    expect(signal).toBe('SIGKILL');
    const before = ResultsStore.openRead(out);
    const total = expandGrid(loadSweepFile(sweep)).cells.length;
    expect(before.size).toBeGreaterThanOrEqual(4);
    expect(before.size).toBeLessThan(total);
    // Simulate the crash tearing the row being written.
    fs.appendFileSync(out, '{"sum":"0123456789abcdef","row":{"v":1,"cell":"dead');
    const lockLeft = fs.existsSync(`${out}.lock`); // the killed process could not clean up
    expect(lockLeft).toBe(true);

    const r = runCli(['sweep', sweep, '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('torn last line');
    expect(r.stderr).toContain(`${before.size}/${total} cells already in`);
    expect(r.stdout).toContain(`${total - before.size} computed, ${before.size} already stored`);
    checkComplete(sweep, out);

    // A third run computes nothing.
    const again = runCli(['sweep', sweep, '--out', out, '--no-progress']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`0 computed, ${total} already stored`);
    checkComplete(sweep, out);
  });

  it('Ctrl-C stops after the current cell, exits 130, and keeps every finished row', async () => {
    const dir = tmpDir('sigint');
    const sweep = writeSmallSweep(dir, 'interrupt', [0, 1, 2]);
    bigger(sweep);
    const out = path.join(dir, 'r.jsonl');
    const child = spawnCli(['sweep', sweep, '--out', out, '--no-progress']);
    const done = exitOf(child);
    await waitForRows(out, 2, child);
    child.kill('SIGINT');
    const { code, stderr } = await done;
    expect(code).toBe(130);
    expect(stderr).toContain('stopping after the current cell');
    const s = ResultsStore.openRead(out);
    expect(s.skipped).toBe(0);
    expect(s.size).toBeGreaterThanOrEqual(2);
    expect(fs.existsSync(`${out}.lock`)).toBe(false);
    const r = runCli(['sweep', sweep, '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    checkComplete(sweep, out);
  });
});
