// Dequantization of llama.cpp's own files: every tensor of the shipped Q8_0 and Q4_K_M GGUFs
// decoded by nq equals a straightforward decoder written from the block definitions (the one in
// @nq/kquants' tests), and the Q8_0 values stay within the format's error bound of the F32 weights.
import fs from 'node:fs';
import path from 'node:path';
import { fromHalf } from '@nq/kquants';
import { describe, expect, it } from 'vitest';
import { refDecode } from '../../kquants/test/reference.js';
import { openGguf } from '../src/index.js';
import { NQ5M, NQ5M_GGUF, NQ5M_Q4KM_GGUF, NQ5M_Q8_GGUF } from './helpers/shared.js';

const F32 = NQ5M_GGUF;
const Q8 = NQ5M_Q8_GGUF;
const Q4KM = NQ5M_Q4KM_GGUF;
const HAVE = [F32, Q8, Q4KM].every((p) => fs.existsSync(p));

describe.skipIf(!HAVE)(
  `llama.cpp-written GGUFs${HAVE ? '' : ` (skipped: files not found under ${NQ5M}; CI always has ../shared)`}`,
  () => {
    for (const file of [Q8, Q4KM]) {
      it(`every tensor of ${path.basename(file)} decodes exactly as the block definition says`, () => {
        const g = openGguf(file);
        try {
          const seen = new Set<string>();
          for (const t of g.tensors) {
            seen.add(t.typeName);
            const got = g.readTensorF32(t.name);
            const want =
              t.typeName === 'F32'
                ? new Float32Array(g.readTensorBytes(t.name).slice().buffer)
                : refDecode(t.typeName, g.readTensorBytes(t.name), t.elements);
            let bad = 0;
            for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) bad++;
            expect(bad, `${t.name} (${t.typeName})`).toBe(0);
          }
          expect([...seen].sort()).toEqual(file === Q8 ? ['F32', 'Q8_0'] : ['F32', 'Q4_K', 'Q6_K']);
        } finally {
          g.close();
        }
      });
    }

    it('dequantized Q8_0 is within half a quantization step (+ the f16 rounding of d) of the F32 weights', () => {
      const q = openGguf(Q8);
      const f = openGguf(F32);
      try {
        for (const t of q.tensors) {
          if (t.typeName !== 'Q8_0') continue;
          const x = f.readTensorF32(t.name);
          const y = q.readTensorF32(t.name);
          const bytes = q.readTensorBytes(t.name);
          let worst = 0;
          for (let b = 0; b < x.length / 32; b++) {
            let amax = 0;
            for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
            const d = Math.fround(amax / 127);
            const dh = fromHalf(bytes[34 * b]! | (bytes[34 * b + 1]! << 8));
            const bound = 0.5 * d * (1 + 1e-6) + 127 * Math.abs(d - dh) + 1e-12;
            for (let j = 0; j < 32; j++)
              worst = Math.max(worst, Math.abs(y[32 * b + j]! - x[32 * b + j]!) / bound);
          }
          expect(worst, t.name).toBeLessThanOrEqual(1);
        }
      } finally {
        q.close();
        f.close();
      }
    });
  },
);
