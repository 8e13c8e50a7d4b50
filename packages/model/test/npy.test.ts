import fs from 'node:fs';
import path from 'node:path';
import { NqFormatError, NqUnsupportedError } from '@nq/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy, readNpy } from '../src/index.js';
import { HAVE_NQ5M, NQ5M, NQ5M_REF_LOGITS, tmpDir } from './helpers/shared.js';

/** Builds .npy v1 bytes from the format description (magic, version, u16 header length, dict, pad to 64). */
function npyBytes(descr: string, shape: number[], payload: Uint8Array, version = 1): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  let header = `${dict} `;
  while ((pre + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(pre + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(payload, pre + header.length);
  return out;
}

describe('npy reader', () => {
  const dir = tmpDir('npy');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads float32, uint16 and int32 arrays of versions 1 and 2', () => {
    const f = new Float32Array([1.5, -2, 3.25, 0, 7, 8]);
    const a = parseNpy(npyBytes('<f4', [2, 3], new Uint8Array(f.buffer)));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2, 3.25, 0, 7, 8]);
    const u = new Uint16Array([1, 65535, 300]);
    const b = parseNpy(npyBytes('<u2', [3], new Uint8Array(u.buffer), 2));
    expect(b.shape).toEqual([3]);
    expect(Array.from(b.data as Uint16Array)).toEqual([1, 65535, 300]);
    const s = parseNpy(npyBytes('<i4', [], new Uint8Array(new Int32Array([-9]).buffer)));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data as Int32Array)).toEqual([-9]);
  });

  it('rejects bad magic, truncated data, fortran order and unknown dtypes with typed errors', () => {
    const f = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    expect(() => parseNpy(new TextEncoder().encode('not an npy file'))).toThrow(NqFormatError);
    const full = npyBytes('<f4', [4], f);
    expect(() => parseNpy(full.subarray(0, full.length - 1))).toThrow(/truncated/);
    expect(() => parseNpy(full.subarray(0, 40))).toThrow(NqFormatError);
    const fortran = new TextDecoder('latin1').decode(npyBytes('<f4', [2, 2], f)).replace('False', 'True ');
    expect(() => parseNpy(Uint8Array.from(fortran, (c) => c.charCodeAt(0)))).toThrow(NqUnsupportedError);
    expect(() => parseNpy(npyBytes('<c8', [2], f))).toThrow(NqUnsupportedError);
    expect(() => parseNpy(npyBytes('>f4', [4], f))).toThrow(NqUnsupportedError);
    const p = path.join(dir, 'x.npy');
    fs.writeFileSync(p, full);
    expect(Array.from(readNpy(p).data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it.skipIf(!HAVE_NQ5M)('reads the shipped reference logits [64, 4096] float32 and uint16 token ids', () => {
    const r = readNpy(NQ5M_REF_LOGITS);
    expect(r.dtype).toBe('<f4');
    expect(r.shape).toEqual([64, 4096]);
    expect(r.data).toBeInstanceOf(Float32Array);
    const ids = readNpy(path.join(NQ5M, 'tok4096.docs-valid.ids.npy'));
    // The README: docs-valid encodes to 230,237 tokens, stored as uint16.
    expect(ids.shape).toEqual([230237]);
    expect(ids.data).toBeInstanceOf(Uint16Array);
  });
});
