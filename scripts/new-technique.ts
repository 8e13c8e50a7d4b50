/**
 * pnpm new-technique <name> [--description "..."] [--no-install] [--root <repo>]
 *
 * Scaffolds packages/<name> (@nq/<name>) with the standard inside — src/index.ts, src/cpu, src/webgpu (a
 * real WGSL kernel), src/gpujs, CPU tests plus webgpu and gpu.js conformance tests — and, outside it, a
 * benchmark suite (benchmarks/src/suites/<name>.ts), a changeset, and the benchmarks package's dependency
 * on the new package. Then runs `pnpm install` so the workspace links it. After that `pnpm test`,
 * `pnpm build` and `pnpm bench <name>` pick it up with no other edit.
 *
 * Templates live in scripts/templates/technique/ (`*.tmpl`, placeholders __name__, __Pascal__,
 * __CONST__, __description__). If anything fails half-way, everything written so far is removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// A relative import: scripts/ is not a workspace package, so @nq/core does not resolve from here.
import { NqInputError } from '../packages/core/src/errors.js';

export interface NewTechniqueOptions {
  name: string;
  /** Repository root to write into (default: this repository). */
  root?: string;
  description?: string;
  /** Run `pnpm install` afterwards (default true). */
  install?: boolean;
  log?: (msg: string) => void;
}

export interface NewTechniqueResult {
  packageDir: string;
  /** Every file written, absolute paths. */
  files: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const templateDir = path.join(here, 'templates', 'technique');
export const defaultRoot = path.resolve(here, '..');

// Names that would collide with the workspace's own folders, scopes or tools.
const RESERVED = new Set([
  'core',
  'benchmarks',
  'harness',
  'nq',
  'node_modules',
  'test',
  'tests',
  'scripts',
  'apps',
  'packages',
  'dist',
  'src',
]);

/** Checks that `name` makes a valid, new, npm-safe package name @nq/<name>; throws NqInputError otherwise. */
export function validateTechniqueName(name: string, root: string = defaultRoot): void {
  const remedy =
    'Use lower-case letters, digits and single hyphens, starting with a letter, e.g. "my-rotation".';
  if (typeof name !== 'string' || name.length === 0) throw new NqInputError('name', 'is missing', remedy);
  if (name.length > 50)
    throw new NqInputError('name', `is ${name.length} characters long (at most 50)`, 'Pick a shorter name.');
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name))
    throw new NqInputError('name', `"${name}" is not a valid package name here`, remedy);
  if (RESERVED.has(name))
    throw new NqInputError('name', `"${name}" is reserved in this workspace`, 'Pick another name.');
  const pkgDir = path.join(root, 'packages', name);
  if (existsSync(pkgDir))
    throw new NqInputError(
      'name',
      `packages/${name} already exists`,
      'Pick another name, or edit that package.',
    );
  const suite = path.join(root, 'benchmarks', 'src', 'suites', `${name}.ts`);
  if (existsSync(suite))
    throw new NqInputError('name', `benchmarks/src/suites/${name}.ts already exists`, 'Pick another name.');
  for (const dir of ['packages', 'apps']) {
    const base = path.join(root, dir);
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) {
      const pj = path.join(base, d, 'package.json');
      if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === `@nq/${name}`) {
        throw new NqInputError('name', `@nq/${name} already exists in ${dir}/${d}`, 'Pick another name.');
      }
    }
  }
}

function substitutions(name: string, description: string): [RegExp, string][] {
  const pascal = name
    .split('-')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  const constant = name.replace(/-/g, '_').toUpperCase();
  return [
    [/__name__/g, name],
    [/__Pascal__/g, pascal],
    [/__CONST__/g, constant],
    [/__description__/g, description],
  ];
}

function render(text: string, subs: [RegExp, string][]): string {
  let out = text;
  for (const [re, v] of subs) out = out.replace(re, v);
  return out;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export function newTechnique(options: NewTechniqueOptions): NewTechniqueResult {
  const root = path.resolve(options.root ?? defaultRoot);
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { name } = options;
  validateTechniqueName(name, root);
  const description = (
    options.description ?? `${name}: a quantization technique for nq (cpu, webgpu, gpu.js).`
  ).replace(/["\\\n]/g, ' ');
  const subs = substitutions(name, description);
  const pkgDir = path.join(root, 'packages', name);
  const suiteFile = path.join(root, 'benchmarks', 'src', 'suites', `${name}.ts`);
  const changesetFile = path.join(root, '.changeset', `new-${name}.md`);
  const benchPkgFile = path.join(root, 'benchmarks', 'package.json');
  const written: string[] = [];
  const benchPkgBefore = existsSync(benchPkgFile) ? readFileSync(benchPkgFile, 'utf8') : null;

  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { flag: 'wx' }); // never overwrite
    written.push(file);
  };

  try {
    for (const tmpl of walk(templateDir)) {
      const rel = path.relative(templateDir, tmpl);
      if (!rel.endsWith('.tmpl')) continue;
      const text = render(readFileSync(tmpl, 'utf8'), subs);
      if (rel === path.join('benchmark', 'suite.ts.tmpl')) write(suiteFile, text);
      else if (rel === 'changeset.md.tmpl') write(changesetFile, text);
      else write(path.join(pkgDir, render(rel.slice(0, -'.tmpl'.length), subs)), text);
    }
    // The benchmark suite imports @nq/<name>: the benchmarks package depends on it (pnpm links it).
    if (benchPkgBefore !== null) {
      const pkg = JSON.parse(benchPkgBefore) as { dependencies?: Record<string, string> };
      pkg.dependencies = { ...pkg.dependencies, [`@nq/${name}`]: 'workspace:*' };
      pkg.dependencies = Object.fromEntries(
        Object.entries(pkg.dependencies).sort(([a], [b]) => a.localeCompare(b)),
      );
      writeFileSync(benchPkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
    }
    formatWithBiome(root, written, log);
    if (options.install ?? true) {
      log('new-technique: pnpm install (links the new package into the workspace)');
      const r = spawnSync('pnpm', ['install'], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`pnpm install failed (exit ${r.status ?? r.signal})`);
    }
  } catch (e) {
    // Leave nothing half-made behind.
    rmSync(pkgDir, { recursive: true, force: true });
    for (const f of written) rmSync(f, { force: true });
    if (benchPkgBefore !== null) writeFileSync(benchPkgFile, benchPkgBefore);
    throw e;
  }
  return { packageDir: pkgDir, files: written };
}

/**
 * Formats and import-sorts the generated files with the workspace's biome (when it is installed), so
 * `pnpm lint` stays clean whatever the name sorts like. Best effort: templates are already formatted.
 */
function formatWithBiome(root: string, files: string[], log: (m: string) => void): void {
  const biome = path.join(root, 'node_modules', '.bin', 'biome');
  if (!existsSync(biome)) return;
  const r = spawnSync(biome, ['check', '--write', ...files], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0)
    log(`new-technique: biome left remarks on the generated files:\n${r.stdout}${r.stderr}`);
}

function main(argv: string[]): number {
  const args: NewTechniqueOptions = { name: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--no-install') args.install = false;
    else if (a === '--description' || a === '-d') args.description = argv[++i];
    else if (a === '--root') args.root = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: pnpm new-technique <name> [--description "..."] [--no-install]\n');
      return 0;
    } else if (a === '--') continue;
    else if (a.startsWith('-')) {
      process.stderr.write(`new-technique: unknown option ${a}\n`);
      return 2;
    } else if (!args.name) args.name = a;
    else {
      process.stderr.write(`new-technique: one name at a time (got "${args.name}" and "${a}")\n`);
      return 2;
    }
  }
  try {
    const r = newTechnique(args);
    const rel = path.relative(process.cwd(), r.packageDir) || '.';
    process.stdout.write(
      `Created @nq/${args.name} in ${rel} (${r.files.length} files).\nNext:\n` +
        `  pnpm vitest run packages/${args.name}      # its cpu, webgpu and gpujs tests\n` +
        `  pnpm bench ${args.name} --quick            # its benchmark suite\n` +
        `  then replace the placeholder op (see packages/${args.name}/README.md and CONTRIBUTING.md)\n`,
    );
    return 0;
  } catch (e) {
    process.stderr.write(`new-technique: ${(e as Error).message}\n`);
    return e instanceof NqInputError ? 2 : 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
