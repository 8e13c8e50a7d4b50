import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portablePath, repoRoot } from '../util/paths.js';

/** Facts about the run that are the same for every row of it, computed once per process. */
export interface RunFacts {
  git: string;
  packages: Record<string, string>;
  node: string;
  platform: string;
  cpu: string;
}

let facts: RunFacts | null = null;

export function runFacts(): RunFacts {
  if (facts) return facts;
  const root = repoRoot();
  facts = {
    git: gitCommit(root),
    packages: packageVersions(root),
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
    cpu: `${os.cpus()[0]?.model?.trim() ?? 'unknown'} ×${os.cpus().length}`,
  };
  return facts;
}

function gitCommit(root: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    // Dirty = uncommitted changes in tracked files of the packages that compute numbers.
    const dirty = execFileSync(
      'git',
      ['status', '--porcelain', '--untracked-files=no', '--', 'packages', 'apps'],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Versions of every workspace package (@nq/*) and of the libraries that shape results. */
function packageVersions(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of ['packages', 'apps']) {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) continue;
    for (const sub of fs.readdirSync(base).sort()) {
      const pj = path.join(base, sub, 'package.json');
      if (!fs.existsSync(pj)) continue;
      try {
        const j = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (j.name) out[j.name] = j.version ?? '0.0.0';
      } catch {
        /* a package being written right now: skip it */
      }
    }
  }
  return out;
}

const fileHashes = new Map<string, { key: string; sha: string }>();

/** sha256 of a file, cached per process by (size, mtime). */
export function fileSha256(file: string): string {
  const st = fs.statSync(file);
  const key = `${st.size}:${st.mtimeMs}`;
  const c = fileHashes.get(file);
  if (c && c.key === key) return c.sha;
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  const sha = h.digest('hex');
  fileHashes.set(file, { key, sha });
  return sha;
}

/** { portable path → sha256 } for the given files. */
export function hashFiles(files: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) out[portablePath(f)] = fileSha256(f);
  return out;
}
