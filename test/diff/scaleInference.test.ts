import { describe, expect, test } from 'vitest';
import type { Contract } from '../../src/contracts/schema.js';
import { DEFAULT_DIFF_OPTIONS, diffOutputs, type GoldenSubject } from '../../src/diff/diff.js';
import { withFields } from '../../src/diff/dimensions.js';
import { explainCandidate } from '../../src/diff/explain.js';
import { formatExplainReport } from '../../src/diff/explainFormat.js';
import { formatDiffReport } from '../../src/diff/format.js';
import { stepF32 } from '../../src/diff/rstd.js';
import { f32BitsFromBf16 } from '../../src/numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { fp8FromF32Bits } from '../../src/numerics/fp8.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { candidateFrom, copyTensor, goldenCase } from './helpers.js';

// diff's per-group inference of an approximate reciprocal or divide (scaleDeviation.ts, the one
// implementation explain's rescoring calls too). The candidates are planted on bits only, in
// quant groups whose every normed value is 0 (the zero-groups generator): 0 times any finite
// reciprocal is 0 and 0 / any positive scale is 0, so the codes of such a group are 0x00 under
// every scale and every reciprocal. Hence, by hand: a group whose scale alone is one f32 ULP off
// is reproduced by exactly that shift (the search tries +1 and -1 first), and a group whose
// scale matches but which holds a non-zero code is reproduced by no shift at all.

// aiter add_rmsnorm_quant (one rank): quantize 'reciprocal' (v_rcp_f32), hardwareOps.reciprocal
// 'inferred'; outputs out.residual, out.q, out.scale (row-major [M, G], G = 4).
const PRESET = 'aiter-add-rmsnorm-quant@gfx950';
const HIDDEN = 512;
const GROUP = 128;
const GROUPS = HIDDEN / GROUP;
const golden = goldenCase(PRESET, 1, 8, HIDDEN, 'zero-groups', 5);

function zeroGroup(row: number, group: number): boolean {
  const q = golden.outputs.get('out.q')!;
  for (let k = 0; k < GROUP; k++) if (q.data[row * HIDDEN + group * GROUP + k] !== 0) return false;
  return true;
}

/** The golden's outputs with scale words moved by whole f32 ULPs (on their bits) and codes set. */
function planted(scaleSteps: readonly [number, number, number][], codes: readonly [number, number, number, number][] = []): Map<string, Tensor> {
  const out = new Map([...golden.outputs].map(([name, t]) => [name, copyTensor(t)]));
  const scale = out.get('out.scale')!;
  for (const [row, group, steps] of scaleSteps) scale.data[row * GROUPS + group] += steps;
  const q = out.get('out.q')!;
  for (const [row, group, k, code] of codes) q.data[row * HIDDEN + group * GROUP + k] = code;
  return out;
}

const withSlots = (contract: Contract, value: 'ieee' | 'inferred'): GoldenSubject => ({
  ...golden,
  contract: withFields(contract, { 'hardwareOps.reciprocal': value, 'hardwareOps.divide': value })!,
});

describe('diff: per-group scale inference', () => {
  test('the planted groups are zero groups (else the hand derivation would not hold)', () => {
    for (const [row, group] of [
      [0, 0],
      [4, 0],
      [2, 2],
    ])
      expect(zeroGroup(row, group), `${row}:${group}`).toBe(true);
    // v_rcp_f32 forms both 1/scale and the variance's 1/n; the kernel has no divide left (fast-math).
    expect(golden.contract.hardwareOps.reciprocal).toBe('inferred');
    expect(golden.contract.quant!.quantize).toBe('reciprocal');
  });

  const candidate = planted(
    [
      [0, 0, +1],
      [4, 0, -1],
    ],
    [[2, 2, 5, 0x01]],
  );
  const report = diffOutputs(golden, candidate, 'planted');

  test("the contract's 'inferred' slots turn the inference on: one-ULP scale shifts explained, the code change a true mismatch", () => {
    expect(report.scale).toEqual({
      ulps: 2,
      examined: 3,
      trigger: 'contract',
      explained: [
        { rank: null, row: 0, group: 0, slot: 'scale', deltaUlp: 1 },
        { rank: null, row: 4, group: 0, slot: 'scale', deltaUlp: -1 },
      ],
      unexplained: [{ rank: null, row: 2, group: 2, reason: 'no scale within range' }],
    });
  });

  test('outputs: the scale passes after inference, the code change fails out.q', () => {
    const scale = report.outputs.find((o) => o.name === 'out.scale')!;
    expect(scale.stats.differing).toBe(2);
    expect(scale.histogram).toEqual([
      { ulp: -1, count: 1 },
      { ulp: 1, count: 1 },
    ]);
    expect(scale.afterInference).toEqual({ differing: 0, nanMismatches: 0, infMismatches: 0, maxUlp: 0, rows: 0 });
    expect(scale.pass).toBe(true);
    const q = report.outputs.find((o) => o.name === 'out.q')!;
    // Code 0x00 -> 0x01: one e4m3fn step (the smallest subnormal).
    expect(q.afterInference).toEqual({ differing: 1, nanMismatches: 0, infMismatches: 0, maxUlp: 1, rows: 1 });
    expect(q.pass).toBe(false);
    expect(report.pass).toBe(false);
  });

  test('the text names the explained groups apart from the true mismatches', () => {
    const text = formatDiffReport(report);
    expect(text).toContain(
      "scale inference (approximate reciprocal or divide, +-2 f32 ULP; the golden's contract marks the reciprocal or divide 'inferred'): " +
        '2/3 differing groups explained',
    );
    expect(text).toContain('  explained by scale +1 ULP: 1 groups (row 0 group 0)');
    expect(text).toContain('  explained by scale -1 ULP: 1 groups (row 4 group 0)');
    expect(text).toContain('  true mismatches: row 2 group 2 (no scale within range)');
    expect(text).toContain('FAIL: out.q is not bit-exact (groups a scale shift explains excepted)');
  });

  test('with rstd inference too, rows no rstd reproduces are not called true mismatches before the scale section', () => {
    const text = formatDiffReport(diffOutputs(golden, candidate, 'planted', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 4 }));
    expect(text).toContain('  no rstd shift reproduces (their quant groups: scale inference below): row 0, row 2, row 4');
    expect(text).not.toMatch(/true mismatches: row 0/);
    expect(text).toContain('  true mismatches: row 2 group 2 (no scale within range)');
    expect(text).toContain('FAIL: out.q is not bit-exact (rows an rstd shift explains and groups a scale shift explains excepted)');
  });

  test('without the code change the candidate passes; with ieee slots and no flag nothing is inferred and it fails', () => {
    const shiftsOnly = planted([
      [0, 0, +1],
      [4, 0, -1],
    ]);
    expect(diffOutputs(golden, shiftsOnly, 'planted').pass).toBe(true);
    const ieee = diffOutputs(withSlots(golden.contract, 'ieee'), shiftsOnly, 'planted');
    expect(ieee.scale).toBeNull();
    expect(ieee.outputs.find((o) => o.name === 'out.scale')!.afterInference).toBeNull();
    expect(ieee.pass).toBe(false);
    // --scale infer asks for it on any contract.
    const asked = diffOutputs(withSlots(golden.contract, 'ieee'), shiftsOnly, 'planted', { ...DEFAULT_DIFF_OPTIONS, scaleUlps: 1 });
    expect(asked.scale).toMatchObject({ ulps: 1, trigger: 'flag', unexplained: [] });
    expect(asked.scale!.explained.map((e) => [e.row, e.group, e.deltaUlp])).toEqual([
      [0, 0, 1],
      [4, 0, -1],
    ]);
    expect(asked.pass).toBe(true);
  });

  test('a shift past the range is a true mismatch: +3 ULP with --scale-ulps 2', () => {
    const far = diffOutputs(golden, planted([[0, 0, +3]]), 'planted');
    expect(far.scale!.explained).toEqual([]);
    expect(far.scale!.unexplained).toEqual([{ rank: null, row: 0, group: 0, reason: 'no scale within range' }]);
    expect(far.pass).toBe(false);
    const wider = diffOutputs(golden, planted([[0, 0, +3]]), 'planted', { ...DEFAULT_DIFF_OPTIONS, scaleUlps: 3 });
    expect(wider.scale!.explained).toEqual([{ rank: null, row: 0, group: 0, slot: 'scale', deltaUlp: 3 }]);
  });

  test('explain reports the same groups from the same module', async () => {
    const explained = await explainCandidate(golden, candidate, 'planted', { rstdUlps: null });
    expect(explained.approximations.scale!.groups.map((g) => [g.row, g.group, g.slot, g.deltaUlp])).toEqual([
      [0, 0, 'scale', 1],
      [4, 0, 'scale', -1],
    ]);
    expect(explained.approximations.scale!.misses).toEqual([{ rank: null, row: 2, group: 2, reason: 'no scale within range' }]);
    expect(formatExplainReport(explained)).toContain('  row 2 group 2: no scale within range');
  });
});

describe('diff: a group whose row has another norm output is not searched', () => {
  // aiter 1-stage per-group quant: a bf16 side output; the golden's slots are ieee, so --scale infer asks.
  const withNorm = goldenCase('aiter-1stage-quant@gfx950', 2, 4, 512, 'random', 9);
  test('norm bit flipped and scale moved in row 1: the group is a true mismatch, "norm differs"', () => {
    const out = new Map([...withNorm.outputs].map(([name, t]) => [name, copyTensor(t)]));
    out.get('out.norm')!.data[1 * 512 + 7] ^= 1;
    out.get('out.scale')!.data[1 * GROUPS + 0] += 1;
    const report = diffOutputs(withNorm, out, 'planted', { ...DEFAULT_DIFF_OPTIONS, scaleUlps: 2 });
    expect(report.scale).toMatchObject({ examined: 0, explained: [], unexplained: [{ rank: null, row: 1, group: 0, reason: 'norm differs' }] });
  });

  test('--scale infer on a golden without quant is refused by name', () => {
    const plain = goldenCase('aiter-1stage@gfx950', 2, 2, 256);
    expect(() => diffOutputs(plain, plain.outputs, 'same', { ...DEFAULT_DIFF_OPTIONS, scaleUlps: 2 })).toThrow(/--scale infer: .* has no quant section/);
  });
});

describe('diff: per-group reciprocal inference (v_rcp_f32: the scale right, 1/scale an ULP off)', () => {
  test('groups whose codes follow a moved reciprocal are explained with its sign, slot reciprocal', () => {
    const base = goldenCase('vllm-group-quant', 2, 8, 1024, 'random', 49);
    const contract = withFields(base.contract, { 'quant.quantize': 'reciprocal', 'quant.bf16SideOutput': true })!;
    const exact = candidateFrom(base, contract);
    const golden: GoldenSubject = { ...base, contract, outputs: exact };
    // Independently of the engine (as test/diff/explain.test.ts does for explain): q =
    // e4m3fn(satfinite)(bf16 norm value * (fround(1/scale) moved by d f32 ULP)).
    const planted = (m: number, g: number): number => [1, -1, 0][(m + 2 * g) % 3];
    const codes = exact.get('out.q')!.data.slice();
    const scales = exact.get('out.scale')!.data;
    const norm = exact.get('out.norm')!.data;
    const changed = new Set<string>();
    for (let m = 0; m < 8; m++) {
      for (let g = 0; g < 8; g++) {
        const d = planted(m, g);
        if (d === 0) continue;
        const reciprocal = stepF32(Math.fround(1 / f32FromBits(scales[m * 8 + g])), d);
        for (let k = 0; k < 128; k++) {
          const i = m * 1024 + g * 128 + k;
          const code = fp8FromF32Bits(bitsFromF32(Math.fround(f32FromBits(f32BitsFromBf16(norm[i])) * reciprocal)), 'e4m3fn', 'satfinite');
          if (code !== codes[i]) changed.add(`${m}:${g}`);
          codes[i] = code;
        }
      }
    }
    expect(changed.size).toBeGreaterThan(0);
    const candidate = new Map(exact);
    candidate.set('out.q', { ...exact.get('out.q')!, data: codes } as Tensor);
    const report = diffOutputs(golden, candidate, 'rcp', { ...DEFAULT_DIFF_OPTIONS, scaleUlps: 2 });
    expect(report.scale!.explained.map((g) => `${g.row}:${g.group}`).sort()).toEqual([...changed].sort());
    for (const g of report.scale!.explained) expect(g).toMatchObject({ slot: 'reciprocal', deltaUlp: planted(g.row, g.group) });
    expect(report.scale!.unexplained).toEqual([]);
    expect(report.pass).toBe(true);
    expect(diffOutputs(golden, candidate, 'rcp').pass).toBe(false);
  });
});
