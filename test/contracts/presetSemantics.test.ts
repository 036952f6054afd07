import { describe, expect, test } from 'vitest';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { buildCase } from '../../src/fixtures/golden.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import {
  arNaturalF32, bf16, bf16Bits, clampTo, f, quantRow, rstdOf, sumsqButterfly, sumsqCub, sumsqSequential,
  type QuantRule, type Rows,
} from './transcribed.js';

// Every preset against its transcription (./transcribed.ts), on inputs from several generators.

const view = new DataView(new ArrayBuffer(4));
const f32OfBits = (b: number): number => (view.setUint32(0, b >>> 0), view.getFloat32(0));
const valuesOf = (t: Tensor): number[] => Array.from(t.data, (b) => f32OfBits(t.dtype === 'BF16' ? b << 16 : b));
const f32Bits = (v: number): number => (view.setFloat32(0, v), view.getUint32(0));

type Expected = Record<string, number[]>;
type Transcription = (rows: Rows) => Expected;

interface NormSteps {
  ar: (rows: Rows, e: number) => number;
  /** x from the AR value and the residual; also what the residual output rounds. */
  residual: ((ar: number, res: number) => number) | null;
  normInput: (x: number) => number;
  sumsq: (x: number[], tokens: number) => number;
  weight: (w: number) => number;
  product: (x: number, rstd: number, w: number) => number;
}

/** Shared row pipeline of the transcriptions: only the steps a preset names vary. */
function normPipeline(rows: Rows, steps: NormSteps, quant?: { input: (y: number) => number; group: number; rule: QuantRule; layout?: 'column-major'; side: boolean }): Expected {
  const out: Expected = { 'out.norm': [], 'out.residual': [], 'out.q': [], 'out.scale': [] };
  const scalesByRow: number[][] = [];
  for (let m = 0; m < rows.tokens; m++) {
    const x: number[] = [];
    for (let h = 0; h < rows.hidden; h++) {
      const e = m * rows.hidden + h;
      const ar = steps.ar(rows, e);
      const xv = steps.residual ? steps.residual(ar, rows.residual[e]) : ar;
      if (steps.residual) out['out.residual'].push(bf16Bits(xv));
      x.push(steps.normInput(xv));
    }
    const rstd = rstdOf(steps.sumsq(x, rows.tokens), rows.hidden);
    const y = x.map((v, h) => steps.product(v, rstd, steps.weight(rows.weight[h])));
    for (const v of y) out['out.norm'].push(bf16Bits(v));
    if (quant) {
      const { q, scales } = quantRow(y.map(quant.input), quant.group, quant.rule);
      out['out.q'].push(...q);
      scalesByRow.push(scales.map(f32Bits));
    }
  }
  if (quant) {
    const groups = rows.hidden / quant.group;
    if (quant.layout === 'column-major') {
      for (let g = 0; g < groups; g++) for (let m = 0; m < rows.tokens; m++) out['out.scale'].push(scalesByRow[m][g]);
    } else out['out.scale'] = scalesByRow.flat();
    if (!quant.side) delete out['out.norm'];
  } else {
    delete out['out.q'];
    delete out['out.scale'];
  }
  if (!steps.residual) delete out['out.residual'];
  return out;
}

const arRounded = (rows: Rows, e: number) => bf16(arNaturalF32(rows, e));
const oneRounding = (x: number, rstd: number, w: number) => f(f(x * rstd) * w);
const twoRoundings = (x: number, rstd: number, w: number) => f(bf16(f(x * rstd)) * w);
const butterfly = (x: number[]) => sumsqButterfly(x);
const identity = (v: number) => v;
const addF32 = (ar: number, res: number) => f(ar + res);
const addBf16 = (ar: number, res: number) => bf16(f(ar + res));

const AITER_1STAGE: NormSteps = { ar: arRounded, residual: addF32, normInput: identity, sumsq: butterfly, weight: identity, product: oneRounding };
const UNFUSED: NormSteps = { ar: arRounded, residual: addBf16, normInput: identity, sumsq: sumsqSequential, weight: identity, product: oneRounding };
const VLLM_UNFUSED: NormSteps = { ...UNFUSED, sumsq: sumsqCub, product: twoRoundings };
const TRTLLM: NormSteps = { ...UNFUSED, sumsq: butterfly };

// aiter fused: amax == 0 ? 1 : amax / 240 (true division), q = x / scale, no clamp, fnuz overflow rule.
const AITER_FUSED_QUANT: QuantRule = { format: 'e4m3fnuz', max: 240, scale: (a) => (a === 0 ? 1 : f(a / 240)), quantize: (v, s) => f(v / s), saturate: false };
// aiter standalone: amax starts at 1e-10, scale = amax * fround(1/240), q = clamp(x * fround(1/scale)).
const AITER_STANDALONE_QUANT: QuantRule = { format: 'e4m3fnuz', max: 240, scale: (a) => f(Math.max(a, f(1e-10)) * f(1 / 240)), quantize: (v, s) => clampTo(240)(f(v * f(1 / s))), saturate: false };
// vLLM C++: scale = max(amax / 448, 1e-10), q = clamp(x / scale, +-448), e4m3fn.
const VLLM_QUANT: QuantRule = { format: 'e4m3fn', max: 448, scale: (a) => Math.max(f(a / 448), f(1e-10)), quantize: (v, s) => clampTo(448)(f(v / s)), saturate: true };

const TRANSCRIPTIONS: Record<string, Transcription> = {
  unfused: (r) => normPipeline(r, UNFUSED),
  'aiter-1stage': (r) => normPipeline(r, AITER_1STAGE),
  'aiter-1stage-pre2586': (r) => normPipeline(r, { ...AITER_1STAGE, ar: arNaturalF32 }),
  'aiter-2stage': (r) => normPipeline(r, { ...AITER_1STAGE, residual: addBf16 }),
  'aiter-1stage-quant': (r) => normPipeline(r, AITER_1STAGE, { input: identity, group: 128, rule: AITER_FUSED_QUANT, side: true }),
  'sglang-fused-quant': (r) => normPipeline(r, AITER_1STAGE, { input: identity, group: 128, rule: AITER_FUSED_QUANT, side: true }),
  'unfused-quant': (r) => normPipeline(r, UNFUSED, { input: bf16, group: 128, rule: AITER_STANDALONE_QUANT, side: true }),
  'sglang-fused-quant-fallback': (r) => normPipeline(r, AITER_1STAGE, { input: bf16, group: 128, rule: AITER_STANDALONE_QUANT, side: true }),
  'vllm-unfused': (r) => normPipeline(r, VLLM_UNFUSED),
  'vllm-group-quant': (r) => normPipeline(r, VLLM_UNFUSED, { input: bf16, group: 128, rule: VLLM_QUANT, side: false }),
  'vllm-group-quant-ue8m0': (r) => normPipeline(r, VLLM_UNFUSED, {
    input: bf16, group: 128, side: false,
    rule: { ...VLLM_QUANT, scale: (a) => 2 ** Math.ceil(Math.log2(VLLM_QUANT.scale(a))) },
  }),
  'vllm-group-quant-colmajor': (r) => normPipeline(r, VLLM_UNFUSED, { input: bf16, group: 128, rule: VLLM_QUANT, layout: 'column-major', side: false }),
  'vllm-group-quant-triton': (r) => normPipeline(r, VLLM_UNFUSED, { input: bf16, group: 128, side: false, rule: { ...VLLM_QUANT, scale: (a) => f(Math.max(a, f(1e-10)) / 448) } }),
  'trtllm-oneshot-fp32acc': (r) => normPipeline(r, TRTLLM),
  'trtllm-oneshot-bf16acc': (r) => normPipeline(r, {
    ...TRTLLM,
    ar: (rows, e) => {
      let acc = rows.ranks[0][e];
      for (let k = 1; k < rows.ranks.length; k++) acc = bf16(f(acc + rows.ranks[k][e]));
      return acc;
    },
  }),
  'nccl-ring': (r) => normPipeline(r, {
    ...UNFUSED,
    ar: (rows, e) => {
      // NCCL ring with ring = identity: N chunks of ceil(total/N) rounded up to 8 elements;
      // chunk c is summed from rank c+1 around to rank c, every hop rounded to bf16.
      const n = rows.ranks.length;
      const chunk = Math.ceil(Math.ceil((rows.tokens * rows.hidden) / n) / 8) * 8;
      const start = (Math.floor(e / chunk) + 1) % n;
      let acc = rows.ranks[start][e];
      for (let k = 1; k < n; k++) acc = bf16(f(acc + rows.ranks[(start + k) % n][e]));
      return acc;
    },
  }),
  'aiter-rms-quant-passthrough': (r) => normPipeline(r, { ...AITER_1STAGE, ar: arNaturalF32 }, {
    input: identity, group: 128, side: true,
    rule: { format: 'e4m3fn', max: 448, scale: (a) => f(Math.max(a, f(1e-10)) / 448), quantize: (v, s) => clampTo(448)(f(v * f(1 / s))), saturate: true },
  }),
  'vllm-ar-rms-quant': (r) => normPipeline(r, TRTLLM, { input: bf16, group: 128, rule: VLLM_QUANT, side: false }),
  'vllm-ar-rms-quant-noresidual': (r) => normPipeline(r, { ...TRTLLM, residual: null, normInput: identity }, { input: bf16, group: 128, rule: VLLM_QUANT, side: false }),
  'vllm-ar-rms-quant-indexer': (r) => normPipeline(r, TRTLLM, { input: bf16, group: 128, rule: VLLM_QUANT, side: true }),
  'vllm-ar-rms-quant-f32weight-cast': (r) => normPipeline(r, { ...TRTLLM, weight: bf16 }, { input: bf16, group: 128, rule: VLLM_QUANT, side: true }),
  'vllm-ar-rms-quant-f32weight': (r) => normPipeline(r, TRTLLM, { input: bf16, group: 128, rule: VLLM_QUANT, side: true }),
  'vllm-unfused-quant': (r) => normPipeline(r, VLLM_UNFUSED, { input: bf16, group: 128, rule: VLLM_QUANT, side: true }),
  'vllm-unfused-quant-noresidual': (r) => normPipeline(r, { ...VLLM_UNFUSED, residual: null }, { input: bf16, group: 128, rule: VLLM_QUANT, side: true }),
};

const GENERATORS = ['random', 'cancellation', 'bf16-ties', 'residual-outliers', 'zero-groups', 'subnormals', 'fp8-saturation'];

describe.each(Object.keys(TRANSCRIPTIONS))('%s matches its transcription', (preset) => {
  test.each(GENERATORS)('%s inputs', (inputs) => {
    const ranks = preset === 'aiter-rms-quant-passthrough' ? 1 : 3;
    const built = buildCase({ preset, ranks, tokens: 2, hidden: 512, group: null, inputs, seed: 21 });
    const rows: Rows = {
      ranks: built.inputs.rankInputs.map(valuesOf),
      residual: built.inputs.residual ? valuesOf(built.inputs.residual) : [],
      weight: valuesOf(built.inputs.weight),
      tokens: 2,
      hidden: 512,
    };
    const expected = TRANSCRIPTIONS[preset](rows);
    const actual = runCpuEngine(built.contract, built.shape, built.inputs);
    expect([...actual.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, bits] of Object.entries(expected)) expect(Array.from(actual.get(name)!.data), name).toEqual(bits);
  });
});

test('every preset has a transcription', async () => {
  const { listPresets } = await import('../../src/contracts/presets.js');
  expect(listPresets().map((p) => p.name).sort()).toEqual(Object.keys(TRANSCRIPTIONS).sort());
});
