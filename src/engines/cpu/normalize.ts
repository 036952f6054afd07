import { roundBf16, toBf16Bits, type CpuCase } from './context.js';

// Twin of shaders/engine/normalize.wgsl (entry normalize): the weight multiply in the contract's
// order, with the optional intermediate bf16 rounding.

/** One row: `normed` gets the f32 normed values, `normOut` their bf16 bits. */
export function normalize(c: CpuCase, x: Float32Array, rstd: number, normed: Float32Array, normOut: Uint16Array): void {
  const { f32, sites, weight } = c;
  const norm = c.contract.norm;
  const rstdFirst = norm.multiplyOrder === 'x-rstd-w';
  for (let h = 0; h < x.length; h++) {
    let t = f32.mul(x[h], rstdFirst ? rstd : weight[h]);
    if (norm.roundIntermediate) t = roundBf16(t, sites.normIntermediate);
    const y = f32.mul(t, rstdFirst ? weight[h] : rstd);
    normed[h] = y;
    normOut[h] = toBf16Bits(y, sites.normOut);
  }
}
