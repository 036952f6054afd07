import type { Contract, Shape } from '../contracts/schema.js';
import { ContractError } from '../contracts/validate.js';
import { PACKED_GROUPS_PER_WORD, quantGroups, quantGroupSize, sameShape, scaleIndex, scaleTokens, type OutputKind } from '../engines/io.js';
import type { Dtype, Tensor } from '../numerics/tensor.js';
import { sameCodeOf } from './compare.js';

// Which candidate tensor is compared with which reference output, and where each element of an
// output sits (token row, column, quant group). A candidate may hold rank-less outputs
// (`out.norm`) or one per rank (`rank3.out.norm`); each rank's tensor is compared with the
// reference output of that rank when the reference has per-rank outputs, else with the shared one.

const OUTPUT_NAME = /^(?:rank(\d+)\.)?out\.(residual|norm|q|scale)$/;
// I32: packed UE8M0 scale words (quant.scaleLayout 'packed-ue8m0').
const OUTPUT_DTYPES: readonly Dtype[] = ['BF16', 'F32', 'F8_E4M3', 'F8_E4M3FNUZ', 'F8_E5M2', 'F8_E5M2FNUZ', 'I32'];

export function parseOutputName(name: string): { kind: OutputKind; rank: number | null } | null {
  const match = OUTPUT_NAME.exec(name);
  if (!match) return null;
  return { kind: match[2] as OutputKind, rank: match[1] === undefined ? null : Number(match[1]) };
}

export function isOutputName(name: string): boolean {
  return OUTPUT_NAME.test(name);
}

export interface OutputPair {
  /** The candidate's tensor name, e.g. 'rank2.out.norm'. */
  readonly name: string;
  /** The reference output it is compared with, e.g. 'out.norm'. */
  readonly referenceName: string;
  readonly kind: OutputKind;
  /** The rank the candidate tensor belongs to; null for a rank-less output. */
  readonly rank: number | null;
  readonly reference: Tensor;
  readonly candidate: Tensor;
}

/** A tensor as read from a safetensors file: any of its dtypes, including ones no output uses. */
export interface AnyTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Uint16Array | Uint32Array;
}

/** The output tensors of a candidate file; a tensor whose dtype no output can have is an error. */
export function candidateOutputs(tensors: ReadonlyMap<string, AnyTensor>, source: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (!isOutputName(name)) continue;
    if (!OUTPUT_DTYPES.includes(t.dtype as Dtype)) throw new ContractError(`${source}: '${name}' has dtype ${t.dtype}, which no ulpwise output has`);
    out.set(name, t as Tensor);
  }
  if (out.size === 0) throw new ContractError(`${source}: no output tensors (expected out.residual, out.norm, out.q, out.scale or rank{r}.out.*)`);
  return out;
}

/** The reference output a candidate tensor is compared with, or null when there is none. */
export function referenceNameFor(candidateName: string, reference: ReadonlyMap<string, Tensor>): string | null {
  if (reference.has(candidateName)) return candidateName;
  const parsed = parseOutputName(candidateName);
  if (!parsed) return null;
  const alternative = parsed.rank === null ? `rank0.out.${parsed.kind}` : `out.${parsed.kind}`;
  return reference.has(alternative) ? alternative : null;
}

/** Why two tensors cannot be compared element for element, or null when they can. */
export function incompatibility(reference: Tensor, candidate: Tensor, referenceLabel = "the golden's"): string | null {
  if (reference.dtype !== candidate.dtype) return `dtype ${candidate.dtype} does not match ${referenceLabel} ${reference.dtype}`;
  if (!sameShape(reference.shape, candidate.shape))
    return `shape [${candidate.shape.join(', ')}] does not match ${referenceLabel} [${reference.shape.join(', ')}]`;
  return null;
}

/**
 * Pairs every candidate output with its reference output, strictly: each reference output must
 * be covered, dtypes and shapes must match, ranks must exist. Candidate outputs with no
 * reference come back as `unmatched`.
 */
export function pairOutputs(
  reference: ReadonlyMap<string, Tensor>,
  candidate: ReadonlyMap<string, Tensor>,
  ranks: number,
  source: string,
): { pairs: OutputPair[]; unmatched: string[] } {
  const pairs: OutputPair[] = [];
  const unmatched: string[] = [];
  const problems: string[] = [];
  /** Reference outputs some candidate tensor was matched to (compatible or not). */
  const covered = new Set<string>();
  for (const [name, tensor] of candidate) {
    const parsed = parseOutputName(name);
    if (!parsed) continue;
    if (parsed.rank !== null && parsed.rank >= ranks) {
      problems.push(`'${name}': the case has ${ranks} rank(s)`);
      continue;
    }
    const referenceName = referenceNameFor(name, reference);
    if (!referenceName) {
      unmatched.push(name);
      continue;
    }
    covered.add(referenceName);
    const ref = reference.get(referenceName)!;
    const why = incompatibility(ref, tensor);
    if (why) problems.push(`'${name}': ${why}`);
    else pairs.push({ name, referenceName, kind: parsed.kind, rank: parsed.rank, reference: ref, candidate: tensor });
  }
  for (const name of reference.keys()) {
    if (!covered.has(name)) problems.push(`'${name}' is missing (the golden has it; the candidate has neither it nor a per-rank version)`);
  }
  if (problems.length > 0) throw new ContractError(`${source} does not match the golden's outputs:\n  ${problems.join('\n  ')}`);
  return { pairs, unmatched };
}

/** Where the elements of one output lie: token rows, columns, and quant groups. */
export interface OutputGeometry {
  readonly tokens: number;
  /** Elements per token row (hidden, or groups for scales). */
  readonly rowLength: number;
  /** Flattened index of element k of a token row. */
  indexOf(row: number, k: number): number;
  rowOf(index: number): number;
  /** Hidden index for [M, H] outputs; group index for scales. */
  columnOf(index: number): number;
  /** The quant group an element belongs to, or null for outputs without groups. */
  groupOf(index: number): number | null;
}

export function outputGeometry(kind: OutputKind, shape: Shape, contract: Contract): OutputGeometry {
  const { tokens, hidden } = shape;
  const quant = contract.quant;
  if (kind === 'scale' && quant) {
    const groups = quantGroups(quant, hidden);
    const layout = quant.scaleLayout;
    if (layout.kind === 'row-major') {
      return {
        tokens,
        rowLength: groups,
        indexOf: (m, g) => scaleIndex(layout, m, g, tokens, groups),
        rowOf: (i) => Math.floor(i / groups),
        columnOf: (i) => i % groups,
        groupOf: (i) => i % groups,
      };
    }
    // Column-major [G, Mp] or packed [ceil(G/4), Mp]: a column per token (padding tokens past M
    // included); a packed word holds groups 4k..4k+3 and is named by its first group.
    const paddedTokens = scaleTokens(layout, tokens);
    const groupsPerWord = layout.kind === 'packed-ue8m0' ? PACKED_GROUPS_PER_WORD : 1;
    return {
      tokens,
      rowLength: Math.ceil(groups / groupsPerWord),
      indexOf: (m, k) => k * paddedTokens + m,
      rowOf: (i) => i % paddedTokens,
      columnOf: (i) => Math.floor(i / paddedTokens),
      groupOf: (i) => Math.floor(i / paddedTokens) * groupsPerWord,
    };
  }
  const groupSize = kind === 'q' && quant ? quantGroupSize(quant, hidden) : null;
  return {
    tokens,
    rowLength: hidden,
    indexOf: (m, h) => m * hidden + h,
    rowOf: (i) => Math.floor(i / hidden),
    columnOf: (i) => i % hidden,
    groupOf: (i) => (groupSize === null ? null : Math.floor((i % hidden) / groupSize)),
  };
}

/** Whether one token row of two same-dtype tensors is equal bit for bit (NaN as a class). */
export function rowMatches(a: Tensor, b: Tensor, geometry: OutputGeometry, row: number): boolean {
  const same = sameCodeOf(a.dtype);
  for (let k = 0; k < geometry.rowLength; k++) {
    const i = geometry.indexOf(row, k);
    if (!same(a.data[i], b.data[i])) return false;
  }
  return true;
}

/** Token rows where two same-dtype tensors differ. */
export function differingRows(a: Tensor, b: Tensor, geometry: OutputGeometry): Set<number> {
  const rows = new Set<number>();
  for (let m = 0; m < geometry.tokens; m++) if (!rowMatches(a, b, geometry, m)) rows.add(m);
  return rows;
}

/** Element index ranges [start, end) of a row-major output holding these token rows, or the
 *  whole output when no rows are named: diff and explain scan only the rows a GPU compare found
 *  differing (src/diff/gpuDiff.ts, src/diff/gpuFitted.ts). */
export function rowRanges(length: number, rowLength: number, rows: readonly number[] | undefined): [number, number][] {
  if (rows === undefined) return [[0, length]];
  return rows.map((m) => [m * rowLength, (m + 1) * rowLength]);
}
