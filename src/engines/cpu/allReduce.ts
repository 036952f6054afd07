import { segmentOf } from '../layout/ncclChannels.js';
import type { Contract } from '../../contracts/schema.js';
import { canonicalJson } from '../../contracts/validate.js';
import { bf16Value, roundBf16, toBf16Bits, type CpuCase } from './context.js';

// Twin of shaders/engine/allReduce.wgsl (entry allReduce): the all-reduce in the contract's rank
// order, the optional bf16 round trip, the residual add, and the value the norm reads.

const BF16_NEGATIVE_ZERO = 0x8000;

/** One token row: fills `x` (what the norm reads, f32) and `residualOut` (bf16 bits of the row,
 *  when the contract adds a residual). */
export function allReduce(c: CpuCase, row: number, outputRank: number, x: Float32Array, residualOut: Uint16Array): void {
  const { contract, f32, sites, order, rankData, residual } = c;
  const { ranks, hidden } = c.shape;
  const rowBase = row * hidden;
  const accumulateBf16 = contract.allReduce.accumulate === 'bf16';
  const roundResult = contract.allReduce.roundResult === 'bf16';
  const residualAddBf16 = contract.residual?.add === 'bf16';
  const normInputBf16 = contract.norm.input === 'bf16';
  // allReduce.negativeZeroInputs 'positive': FlashInfer's one-shot reads -0 (bf16 0x8000) as +0.
  const inputValue =
    contract.allReduce.negativeZeroInputs === 'positive' ? (bits: number): number => bf16Value(bits === BF16_NEGATIVE_ZERO ? 0 : bits) : bf16Value;
  for (let h = 0; h < hidden; h++) {
    const e = rowBase + h;
    // 1. All-reduce in the contract's rank order, then the optional bf16 round trip.
    // The ranks in summation order: the rotation's base from where it starts, or the list of the
    // element's NCCL segment.
    const segments = order.segments;
    const sequence = segments ? segments.orders : order.rotation.base;
    const first = segments ? segmentOf(segments, e) * ranks : order.rotation.startFor(e, outputRank);
    let acc = inputValue(rankData[sequence[first]][e]);
    for (let i = 1; i < ranks; i++) {
      acc = f32.add(acc, inputValue(rankData[sequence[segments ? first + i : (first + i) % ranks]][e]));
      if (accumulateBf16) acc = roundBf16(acc, sites.allReduceHop);
    }
    if (roundResult) acc = roundBf16(acc, sites.allReduceResult);
    // 2. Residual add: kept in f32 or rounded to bf16.
    if (residual) {
      acc = f32.add(acc, bf16Value(residual[e]));
      if (residualAddBf16) acc = roundBf16(acc, sites.residualAdd);
      residualOut[h] = toBf16Bits(acc, sites.residualOut);
    }
    // 3. What the norm reads.
    x[h] = normInputBf16 ? roundBf16(acc, sites.residualOut) : acc;
  }
}

/** Every part of a contract allReduce reads (the rank order, the four roundings above: hop,
 *  result, residual add and residual out, the residual add, the norm's input dtype, the f32
 *  subnormal rule), as one key: two contracts with the same key reduce every row of the same
 *  inputs alike (explain's scorer reuses the rows; the norm's own rounding sites stay out, so
 *  norm hypotheses that change only them share the rows). */
export function allReduceKey(contract: Contract): string {
  const { allReduce: reduction, residual, f32Subnormals } = contract;
  const { allReduceHop, allReduceResult, residualAdd, residualOut } = contract.bf16Rounding;
  const sites = { allReduceHop, allReduceResult, residualAdd, residualOut };
  return canonicalJson({ reduction, residual, sites, normInput: contract.norm.input, f32Subnormals });
}
