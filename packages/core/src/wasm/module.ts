import { NqInputError } from '../errors.js';
import type { Func } from './func.js';
import { name, uleb, vec } from './leb128.js';

/** Linear-memory limits in 64 KiB pages; a shared memory must state its maximum. */
export interface MemoryLimits {
  initialPages: number;
  maxPages?: number;
  shared?: boolean;
}

/**
 * The module's one memory: imported (as `module`.`name`, default "env"."memory": the host passes a
 * WebAssembly.Memory, e.g. a shared one that worker threads also use) or defined by the module and
 * optionally exported under `exportAs`.
 */
export type MemorySpec =
  | ({ import: { module: string; name: string } } & MemoryLimits)
  | ({ exportAs?: string } & MemoryLimits);

const MAGIC_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** limits: flag 0x00 min | 0x01 min max | 0x03 shared min max (threads proposal, now standard). */
function limits(m: MemoryLimits): number[] {
  if (m.shared && m.maxPages === undefined) {
    throw new NqInputError(
      'memory.maxPages',
      'a shared memory needs a maximum',
      'Set maxPages (65536 is the wasm32 limit).',
    );
  }
  if (m.maxPages === undefined) return [0x00, ...uleb(m.initialPages)];
  return [m.shared ? 0x03 : 0x01, ...uleb(m.initialPages), ...uleb(m.maxPages)];
}

/**
 * Module bytes: one function type per function (params, no results), the memory (imported or
 * defined), every function exported under its name (then the memory, where `exportAs` is given),
 * and the code. Sections in the spec's required order: type 1, import 2, function 3, memory 5,
 * export 7, code 10.
 */
export function buildModule(funcs: readonly Func[], memory: MemorySpec): Uint8Array<ArrayBuffer> {
  if (funcs.length === 0) {
    throw new NqInputError('funcs', 'no functions to assemble', 'Pass at least one Func.');
  }
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0x00]);
  const exports = funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const bytes = [...MAGIC_VERSION, ...section(1, vec(types))];
  if ('import' in memory) {
    const { module, name: field } = memory.import;
    bytes.push(...section(2, vec([[...name(module), ...name(field), 0x02, ...limits(memory)]])));
  }
  bytes.push(...section(3, vec(funcs.map((_, i) => uleb(i)))));
  if (!('import' in memory)) {
    bytes.push(...section(5, vec([limits(memory)])));
    if (memory.exportAs !== undefined) exports.push([...name(memory.exportAs), 0x02, ...uleb(0)]);
  }
  bytes.push(...section(7, vec(exports)));
  bytes.push(...section(10, vec(funcs.map((f) => f.body()))));
  return Uint8Array.from(bytes);
}

/** The usual import: "env"."memory". */
export const ENV_MEMORY = { module: 'env', name: 'memory' } as const;
