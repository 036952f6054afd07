import { checkContractForShape } from '../contracts/validate.js';
import { allReduce } from '../engines/cpu/allReduce.js';
import { bf16Value, cpuCase } from '../engines/cpu/context.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import { normalize } from '../engines/cpu/normalize.js';
import { quantize } from '../engines/cpu/quant.js';
import { sumOfSquares } from '../engines/cpu/sumOfSquares.js';
import { loadScale, quantGroupSize } from '../engines/io.js';
import { ranksDiverge } from '../engines/layout/rankOrder.js';
import type { Contract } from '../contracts/schema.js';
import { f32FromBits } from '../numerics/f32.js';
import type { F32Arithmetic } from '../numerics/f32ops.js';
import { sameCode, sameCodeOf, ulpFormatOf } from './compare.js';
import { outputGeometry, rowMatches, type OutputPair } from './pairs.js';
import { stepF32, type CaseSubject, type RstdShifts } from './rstd.js';

// An approximate hardware reciprocal or divide (v_rcp_f32, div.full.f32) can move a quant
// group's scale by an f32 ULP or so: the scale output and every code of the group follow.
// For each group whose scale or codes differ (in a row whose norm side is reproduced, up to an
// rstd shift), rerun the quant with the scale moved by +-1, +-2, ... f32 ULP and keep the
// smallest shift that reproduces the group's scale and codes bit for bit. One implementation for
// `diff` (its --scale inference) and `explain` (its rescoring); explain's row scorer moves the
// reciprocal with the same withReciprocalMoved.

/** The search range a slot gets when the contract marks it 'inferred' and no range was given:
 *  sm_90's rsqrt.approx.f32 is -2..+1 f32 ULP off and rcp.approx.f32 +-1 over every input
 *  (gpu/MEASUREMENTS.md, measured on an H200). */
export const DEFAULT_APPROXIMATION_ULPS = 2;

/** Whether the contract says its scale or its reciprocal comes from an approximate hardware
 *  operation whose deviation is to be inferred per group. */
export function scaleSlotInferred(contract: Contract): boolean {
  return contract.hardwareOps.reciprocal === 'inferred' || contract.hardwareOps.divide === 'inferred';
}

/** The arithmetic with 1/scale (how quantize forms its reciprocal) moved by `delta` f32 ULP. */
export function withReciprocalMoved(f32: F32Arithmetic, scale: number, delta: number): F32Arithmetic {
  return { ...f32, div: (a, b) => (a === 1 && b === scale ? stepF32(f32.div(a, b), delta) : f32.div(a, b)) };
}

export interface GroupRef {
  readonly rank: number | null;
  readonly row: number;
  readonly group: number;
}

/** Why a differing group is left to the true mismatches: its row's norm side differs (and no
 *  rstd shift reproduces it), so no scale can; or no shift within the range reproduces it. */
export const SCALE_MISS_REASONS = ['norm differs', 'no scale within range'] as const;

export interface ScaleDeviations {
  readonly ulps: number;
  /** Differing groups searched (those whose row's norm side is reproduced). */
  readonly examined: number;
  /** Groups a shifted scale (scale and codes follow) or, with quantize 'reciprocal', a shifted
   *  reciprocal of an unchanged scale (only the codes follow: v_rcp_f32) reproduces. */
  readonly explained: readonly (GroupRef & { readonly slot: 'scale' | 'reciprocal'; readonly deltaUlp: number })[];
  /** Differing groups nothing within +-ulps reproduces. */
  readonly unexplained: readonly (GroupRef & { readonly reason: (typeof SCALE_MISS_REASONS)[number] })[];
  readonly engineRuns: number;
}

/** The (rank, row, group) keys of the groups a shift explains, for masking them out. */
export function explainedGroupKeys(deviations: ScaleDeviations | null): ReadonlySet<string> {
  return new Set((deviations?.explained ?? []).map((g) => groupRefKey(g.rank, g.row, g.group)));
}

export const groupRefKey = (rank: number | null, row: number, group: number): string => `${rank}:${row}:${group}`;

const groupKey = (row: number, group: number): string => `${row}:${group}`;

/** Groups whose scale the fit reproduces but whose codes only a reciprocal moved by +-1 ..
 *  +-ulps f32 ULP does: the group's values through the CPU engine's stages (the candidate's own
 *  bf16 norm output where the quant reads bf16), then quantize with 1/scale replaced. */
function reciprocalShifts(
  subject: CaseSubject,
  q: OutputPair,
  scale: OutputPair,
  norm: OutputPair | undefined,
  groups: readonly GroupRef[],
  ulps: number,
  rstdShifts: ReadonlyMap<number, number> | undefined,
): (GroupRef & { slot: 'reciprocal'; deltaUlp: number })[] {
  const { contract, shape, inputs } = subject;
  const c = cpuCase(contract, checkContractForShape(contract, shape), inputs);
  const constants = c.quant!;
  const { hidden, tokens } = shape;
  const x = new Float32Array(hidden);
  const normed = new Float32Array(hidden);
  const normOut = new Uint16Array(hidden);
  const residualOut = new Uint16Array(hidden);
  const values = new Float32Array(constants.groupSize);
  const codes = new Uint8Array(constants.groupSize);
  const same = sameCodeOf(q.candidate.dtype);
  const found: (GroupRef & { slot: 'reciprocal'; deltaUlp: number })[] = [];
  const outputRank = ranksDiverge(contract.allReduce.order) ? (q.rank ?? 0) : 0;
  let row = -1;
  for (const ref of groups) {
    const scaleBits = loadScale(scale.candidate.data as Uint32Array, constants.quant.scaleLayout, ref.row, ref.group, tokens, constants.groups);
    // Only a group whose scale already matches: its codes alone differ.
    if (scaleBits !== loadScale(scale.reference.data as Uint32Array, constants.quant.scaleLayout, ref.row, ref.group, tokens, constants.groups)) continue;
    if (ref.row !== row) {
      row = ref.row;
      allReduce(c, row, outputRank, x, residualOut);
      normalize(c, x, stepF32(sumOfSquares(c, x), rstdShifts?.get(row) ?? 0), normed, normOut);
      if (norm) normOut.set(norm.candidate.data.subarray(row * hidden, (row + 1) * hidden) as Uint16Array);
    }
    const first = ref.group * constants.groupSize;
    for (let k = 0; k < constants.groupSize; k++) values[k] = constants.quant.input === 'bf16' ? bf16Value(normOut[first + k]) : normed[first + k];
    const groupScaleValue = f32FromBits(scaleBits);
    for (let distance = 1; distance <= ulps; distance++) {
      const delta = [distance, -distance].find((d) => {
        quantize(constants, withReciprocalMoved(c.f32, groupScaleValue, d), values, groupScaleValue, codes, 0);
        for (let k = 0; k < constants.groupSize; k++) if (!same(codes[k], q.candidate.data[row * hidden + first + k])) return false;
        return true;
      });
      if (delta !== undefined) {
        found.push({ ...ref, slot: 'reciprocal', deltaUlp: delta });
        break;
      }
    }
  }
  return found;
}

export function inferScaleDeviations(subject: CaseSubject, pairs: readonly OutputPair[], ulps: number, rstdShifts: RstdShifts): ScaleDeviations {
  const { contract, shape } = subject;
  const quant = contract.quant;
  const explained: (GroupRef & { slot: 'scale' | 'reciprocal'; deltaUlp: number })[] = [];
  const unexplained: ScaleDeviations['unexplained'][number][] = [];
  let engineRuns = 0;
  let examined = 0;
  // Packed UE8M0 scales are powers of two: a scale an ULP off rounds to the same exponent.
  if (!quant || quant.scaleLayout.kind === 'packed-ue8m0') return { ulps, examined, explained, unexplained, engineRuns };
  const ranks = [...new Set(pairs.map((p) => p.rank))];
  for (const rank of ranks) {
    const q = pairs.find((p) => p.rank === rank && p.kind === 'q');
    const scale = pairs.find((p) => p.rank === rank && p.kind === 'scale');
    if (!q || !scale) continue;
    const norm = pairs.find((p) => p.rank === rank && p.kind === 'norm');
    const qGeometry = outputGeometry('q', shape, contract);
    const scaleGeometry = outputGeometry('scale', shape, contract);
    const normGeometry = outputGeometry('norm', shape, contract);
    const qFormat = ulpFormatOf(q.reference.dtype);
    const groupSize = quantGroupSize(quant, shape.hidden);
    const groups = shape.hidden / groupSize;
    const shifts = rstdShifts.get(rank);
    // A group whose codes or scale differ, in a row whose norm output is reproduced.
    const groupMatches = (reference: OutputPair['reference'], scaleReference: OutputPair['reference'], m: number, g: number): boolean => {
      if (!sameCode(scaleReference.data[scaleGeometry.indexOf(m, g)], scale.candidate.data[scaleGeometry.indexOf(m, g)], ulpFormatOf('F32'))) return false;
      for (let k = 0; k < groupSize; k++) {
        const i = qGeometry.indexOf(m, g * groupSize + k);
        if (!sameCode(reference.data[i], q.candidate.data[i], qFormat)) return false;
      }
      return true;
    };
    const pending = new Map<string, GroupRef>();
    for (let m = 0; m < shape.tokens; m++) {
      const normReproduced = !norm || shifts?.has(m) || rowMatches(norm.reference, norm.candidate, normGeometry, m);
      for (let g = 0; g < groups; g++) {
        if (groupMatches(q.reference, scale.reference, m, g)) continue;
        if (normReproduced) pending.set(groupKey(m, g), { rank, row: m, group: g });
        else unexplained.push({ rank, row: m, group: g, reason: 'norm differs' });
      }
    }
    examined += pending.size;
    for (let distance = 1; distance <= ulps && pending.size > 0; distance++) {
      for (const delta of [distance, -distance]) {
        if (pending.size === 0) break;
        const rows = [...new Set([...pending.values()].map((r) => r.row))].sort((a, b) => a - b);
        const outputs = runCpuEngine(contract, shape, subject.inputs, {
          rows,
          rstdOverride: (m, rstd) => stepF32(rstd, shifts?.get(m) ?? 0),
          scaleOverride: (m, g, s) => (pending.has(groupKey(m, g)) ? stepF32(s, delta) : s),
        });
        engineRuns++;
        for (const [key, ref] of pending) {
          if (groupMatches(outputs.get(q.referenceName)!, outputs.get(scale.referenceName)!, ref.row, ref.group)) {
            explained.push({ ...ref, slot: 'scale', deltaUlp: delta });
            pending.delete(key);
          }
        }
      }
    }
    if (quant.quantize === 'reciprocal' && pending.size > 0) {
      const found = reciprocalShifts(subject, q, scale, norm, [...pending.values()], ulps, shifts);
      for (const e of found) pending.delete(groupKey(e.row, e.group));
      explained.push(...found);
    }
    for (const ref of pending.values()) unexplained.push({ ...ref, reason: 'no scale within range' });
  }
  const order = (a: GroupRef, b: GroupRef): number => (a.rank ?? -1) - (b.rank ?? -1) || a.row - b.row || a.group - b.group;
  return { ulps, examined, explained: explained.sort(order), unexplained: unexplained.sort(order), engineRuns };
}
