import { FP8_TRAITS } from '../numerics/fp8.js';
import { fp8FormatOfDtype, type Dtype, type Tensor } from '../numerics/tensor.js';
import { isNanCode, ulpDistance, type UlpFormat } from '../numerics/ulp.js';

// Comparison of two tensors of one dtype, on bits. NaN policy: NaN codes are one class, so two
// NaNs match whatever their payload or sign (libraries disagree on both); a NaN against a
// number is a NaN mismatch, counted apart from ULP distances. Infinities are a class of their
// own too: Inf against max finite is one step on the code line but not a rounding difference.

export function ulpFormatOf(dtype: Dtype): UlpFormat {
  if (dtype === 'BF16') return 'bf16';
  if (dtype === 'F32') return 'f32';
  const fp8 = fp8FormatOfDtype(dtype);
  if (!fp8) throw new Error(`no ULP scale for dtype ${dtype}`);
  return fp8;
}

export function isInfCode(code: number, format: UlpFormat): boolean {
  if (format === 'bf16') return (code & 0x7fff) === 0x7f80;
  if (format === 'f32') return (code & 0x7fffffff) === 0x7f800000;
  if (format === 'ue8m0') return false;
  const t = FP8_TRAITS[format];
  return t.hasInfinity && (code & 0x7f) === t.maxFiniteCode + 1;
}

/** How two differing codes differ: a NaN on one side, an infinity on one side (or of the
 *  other sign), or a finite distance in representable steps. */
export type MismatchClass = 'nan' | 'inf' | 'ulp';

export function mismatchClass(expected: number, actual: number, format: UlpFormat): MismatchClass {
  if (isNanCode(expected, format) || isNanCode(actual, format)) return 'nan';
  if (isInfCode(expected, format) || isInfCode(actual, format)) return 'inf';
  return 'ulp';
}

export interface TensorComparison {
  readonly elements: number;
  /** Elements whose bits differ, NaN-vs-NaN excepted. */
  readonly differing: number;
  readonly nanMismatches: number;
  /** Differing elements with an infinity on one side (and no NaN). */
  readonly infMismatches: number;
  /** Largest |ULP distance| among finite mismatches. */
  readonly maxUlp: number;
  /** Signed ULP distance -> count, over differing finite elements (0 counts -0 vs +0). */
  readonly histogram: ReadonlyMap<number, number>;
  /** Flattened indices of differing elements, up to the `keep` limit, largest |ULP| first. */
  readonly worst: readonly { index: number; ulp: number; expected: number; actual: number }[];
}

export function sameCode(expected: number, actual: number, format: UlpFormat): boolean {
  return expected === actual || (isNanCode(expected, format) && isNanCode(actual, format));
}

export type CodeEquality = (a: number, b: number) => boolean;

/** Equality of two codes of an output dtype: bits, with NaN codes as one class; packed UE8M0
 *  scale words (I32) hold exponent bytes, compared bit for bit. */
export function sameCodeOf(dtype: Dtype): CodeEquality {
  if (dtype === 'I32') return (a, b) => a === b;
  const format = ulpFormatOf(dtype);
  return (a, b) => sameCode(a, b, format);
}

/** Running counts over differing elements (the counting half of TensorComparison), shared by
 *  compareTensors and diff's per-output scan so both classify and tally alike. */
export class MismatchTally {
  differing = 0;
  nanMismatches = 0;
  infMismatches = 0;
  maxUlp = 0;
  readonly histogram = new Map<number, number>();

  constructor(private readonly format: UlpFormat) {}

  /** Counts one differing pair; its class, and its signed ULP distance when both are finite. */
  add(expected: number, actual: number): { kind: MismatchClass; ulp: number | null } {
    this.differing++;
    const kind = mismatchClass(expected, actual, this.format);
    if (kind === 'nan') {
      this.nanMismatches++;
      return { kind, ulp: null };
    }
    if (kind === 'inf') {
      this.infMismatches++;
      return { kind, ulp: null };
    }
    const ulp = ulpDistance(expected, actual, this.format);
    this.histogram.set(ulp, (this.histogram.get(ulp) ?? 0) + 1);
    this.maxUlp = Math.max(this.maxUlp, Math.abs(ulp));
    return { kind, ulp };
  }
}

/** The `keep` most severe of the elements pushed, most severe first, ties by index; trimmed as
 *  it goes so a tensor of millions of mismatches holds at most 4 * keep at a time. */
export class WorstElements<T extends { readonly index: number }> {
  private items: T[] = [];

  constructor(
    private readonly keep: number,
    private readonly severity: (item: T) => number,
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > 4 * this.keep) this.trim();
  }

  take(): T[] {
    this.trim();
    return this.items;
  }

  private trim(): void {
    this.items.sort((a, b) => this.severity(b) - this.severity(a) || a.index - b.index);
    this.items.length = Math.min(this.items.length, this.keep);
  }
}

export function compareTensors(expected: Tensor, actual: Tensor, keep = 0): TensorComparison {
  if (expected.dtype !== actual.dtype) throw new Error(`dtype ${actual.dtype} does not match ${expected.dtype}`);
  if (expected.data.length !== actual.data.length) {
    throw new Error(`shape [${actual.shape}] does not match [${expected.shape}]`);
  }
  if (expected.dtype === 'I32') return compareWords(expected, actual, keep);
  const format = ulpFormatOf(expected.dtype);
  const tally = new MismatchTally(format);
  // NaN distances (a NaN against a number) rank first.
  const worst = new WorstElements<{ index: number; ulp: number; expected: number; actual: number }>(keep, (w) =>
    Number.isNaN(w.ulp) ? Infinity : Math.abs(w.ulp),
  );
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i];
    const a = actual.data[i];
    if (sameCode(e, a, format)) continue;
    const { ulp } = tally.add(e, a);
    if (keep > 0) worst.push({ index: i, ulp: ulp ?? ulpDistance(e, a, format), expected: e, actual: a });
  }
  const { differing, nanMismatches, infMismatches, maxUlp, histogram } = tally;
  return { elements: expected.data.length, differing, nanMismatches, infMismatches, maxUlp, histogram, worst: worst.take() };
}

/** Packed UE8M0 scale words (I32, four exponent bytes each: DeepGEMM's layout) have no ULP
 *  scale of their own: they are compared bit for bit, every differing word a mismatch with no
 *  distance (maxUlp 0, an empty histogram). */
function compareWords(expected: Tensor, actual: Tensor, keep: number): TensorComparison {
  let differing = 0;
  const worst = new WorstElements<{ index: number; ulp: number; expected: number; actual: number }>(keep, () => 0);
  for (let i = 0; i < expected.data.length; i++) {
    if (expected.data[i] === actual.data[i]) continue;
    differing++;
    if (keep > 0) worst.push({ index: i, ulp: Number.NaN, expected: expected.data[i], actual: actual.data[i] });
  }
  return { elements: expected.data.length, differing, nanMismatches: 0, infMismatches: 0, maxUlp: 0, histogram: new Map(), worst: worst.take() };
}
