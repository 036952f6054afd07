import { runCpuEngine } from '../engines/cpu/engine.js';
import { quantGroupSize } from '../engines/io.js';
import { sameCode, ulpFormatOf } from './compare.js';
import { outputGeometry, rowMatches, type OutputPair } from './pairs.js';
import { stepF32, type CaseSubject, type RstdShifts } from './rstd.js';

// An approximate hardware reciprocal or divide (v_rcp_f32, div.full.f32) can move a quant
// group's scale by an f32 ULP or so: the scale output and every code of the group follow.
// For each group whose scale or codes differ (in a row whose norm side is reproduced, up to an
// rstd shift), rerun the quant with the scale moved by +-1, +-2, ... f32 ULP and keep the
// smallest shift that reproduces the group's scale and codes bit for bit.

export interface GroupRef {
  readonly rank: number | null;
  readonly row: number;
  readonly group: number;
}

export interface ScaleDeviations {
  readonly ulps: number;
  readonly explained: readonly (GroupRef & { readonly deltaUlp: number })[];
  /** Differing groups no shift within +-ulps reproduces. */
  readonly unexplained: readonly GroupRef[];
  readonly engineRuns: number;
}

const groupKey = (row: number, group: number): string => `${row}:${group}`;

export function inferScaleDeviations(subject: CaseSubject, pairs: readonly OutputPair[], ulps: number, rstdShifts: RstdShifts): ScaleDeviations {
  const { contract, shape } = subject;
  const quant = contract.quant;
  const explained: (GroupRef & { deltaUlp: number })[] = [];
  const unexplained: GroupRef[] = [];
  let engineRuns = 0;
  // Packed UE8M0 scales are powers of two: a scale an ULP off rounds to the same exponent.
  if (!quant || quant.scaleLayout.kind === 'packed-ue8m0') return { ulps, explained, unexplained, engineRuns };
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
        else unexplained.push({ rank, row: m, group: g });
      }
    }
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
            explained.push({ ...ref, deltaUlp: delta });
            pending.delete(key);
          }
        }
      }
    }
    unexplained.push(...pending.values());
  }
  const order = (a: GroupRef, b: GroupRef): number => (a.rank ?? -1) - (b.rank ?? -1) || a.row - b.row || a.group - b.group;
  return { ulps, explained: explained.sort(order), unexplained: unexplained.sort(order), engineRuns };
}
