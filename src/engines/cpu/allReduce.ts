import { segmentOf } from '../layout/ncclChannels.js';
import type { Contract } from '../../contracts/schema.js';
import { canonicalJson } from '../../contracts/validate.js';
import { addIn } from '../../numerics/f32ops.js';
import { bf16Value, roundBf16, toBf16Bits, type CpuCase } from './context.js';

// Twin of shaders/engine/allReduce.wgsl (entry allReduce): the all-reduce in the contract's rank
// order, the optional bf16 round trip, the residual add, and the value the norm reads.

const BF16_NEGATIVE_ZERO = 0x8000;

/** Where each element of a row starts its rank sequence (rankOrder.ts startFor, or its NCCL
 *  segment's list), filled before the sum: the rotation's start is a closure per order kind, and
 *  called from the sum's inner loop it made that loop's call site megamorphic across contracts. */
let rowStarts = new Int32Array(0);

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
  const negativeZeroPositive = contract.allReduce.negativeZeroInputs === 'positive';
  // The ranks in summation order: the element's NCCL segment's list, or the rotation's base
  // twice over, so that base[(first + i) % ranks] is sequence[first + i] (first < ranks).
  const segments = order.segments;
  const sequence = segments ? segments.orders : c.rotationTwice;
  if (rowStarts.length < hidden) rowStarts = new Int32Array(hidden);
  const starts = rowStarts;
  if (segments) for (let h = 0; h < hidden; h++) starts[h] = segmentOf(segments, rowBase + h) * ranks;
  else for (let h = 0; h < hidden; h++) starts[h] = order.rotation.startFor(rowBase + h, outputRank);
  for (let h = 0; h < hidden; h++) {
    const e = rowBase + h;
    // 1. All-reduce in the contract's rank order, then the optional bf16 round trip.
    const first = starts[h];
    let bits = rankData[sequence[first]][e];
    let acc = bf16Value(negativeZeroPositive && bits === BF16_NEGATIVE_ZERO ? 0 : bits);
    for (let i = 1; i < ranks; i++) {
      bits = rankData[sequence[first + i]][e];
      acc = addIn(f32, acc, bf16Value(negativeZeroPositive && bits === BF16_NEGATIVE_ZERO ? 0 : bits));
      if (accumulateBf16) acc = roundBf16(acc, sites.allReduceHop);
    }
    if (roundResult) acc = roundBf16(acc, sites.allReduceResult);
    // 2. Residual add: kept in f32 or rounded to bf16.
    if (residual) {
      acc = addIn(f32, acc, bf16Value(residual[e]));
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
