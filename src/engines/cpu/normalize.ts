import { roundBf16, toBf16Bits, type CpuCase } from './context.js';

// Twin of shaders/engine/normalize.wgsl (entry normalize): the weight multiply in the contract's
// order, with the optional intermediate bf16 rounding. norm.input 'f32-squares-bf16-normalize'
// multiplies the stored bf16 residual (x rounded at the residualOut site) while the sum of
// squares read the f32 x.

/** One row: `normed` gets the f32 normed values, `normOut` their bf16 bits. */
export function normalize(c: CpuCase, x: Float32Array, rstd: number, normed: Float32Array, normOut: Uint16Array): void {
  const { f32, sites, weight } = c;
  const norm = c.contract.norm;
  const rstdFirst = norm.multiplyOrder === 'x-rstd-w';
  const reread = norm.input === 'f32-squares-bf16-normalize';
  for (let h = 0; h < x.length; h++) {
    const v = reread ? roundBf16(x[h], sites.residualOut) : x[h];
    let t = f32.mul(v, rstdFirst ? rstd : weight[h]);
    if (norm.roundIntermediate) t = roundBf16(t, sites.normIntermediate);
    const y = f32.mul(t, rstdFirst ? weight[h] : rstd);
    normed[h] = y;
    normOut[h] = toBf16Bits(y, sites.normOut);
  }
}
