import { describe, expect, it } from 'vitest';
import type { Contract, Shape } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import { getPreset } from '../../src/contracts/presets.js';
import { bf16Value, cpuCase } from '../../src/engines/cpu/context.js';
import type { CaseInputs } from '../../src/engines/io.js';
import { STAGE_TWINS, type StageName } from '../../src/engines/stages.js';
import type { AdapterKind, GpuContext } from '../../src/engines/webgpu/device.js';
import { probeStage } from '../../src/engines/webgpu/stageProbe.js';
import { releaseCase, uploadCase } from '../../src/engines/webgpu/upload.js';
import { buildCase } from '../../src/fixtures/golden.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { f32_divisorReciprocal } from '../../src/softfloat/f32_divByReciprocal.js';
import { caseOf } from '../engines/caseBuilder.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

// The WGSL half of the stage registry's test (src/engines/stages.ts; the CPU half, on
// hand-derived rows, is test/engines/stages.test.ts): each WGSL entry point of shaders/engine
// beside the CPU function the registry pairs it with, one stage at a time. The GPU runs the
// stages up to one and its buffer is read back (stageProbe.ts); the registry's CPU function runs
// on the same rows from the GPU's own previous-stage buffers, so a mismatch names the stage.
// Every value compares bit for bit, NaN payloads and signs included (both engines follow the
// soft-float's NaN rule, src/numerics/f32ops.ts).

const [allReduceTwin, sumOfSquaresTwin, normalizeTwin, groupScaleTwin, quantizeTwin] = STAGE_TWINS;

function bf16At(words: Uint32Array, index: number): number {
  return (words[index >> 1] >>> ((index & 1) * 16)) & 0xffff;
}

/** Mismatches of one stage, the first few named by row and column. */
class StageMismatches {
  readonly found: string[] = [];
  private count = 0;

  constructor(private readonly stage: StageName) {}

  check(same: boolean, where: string, cpu: number, gpu: number): void {
    if (same) return;
    this.count++;
    if (this.found.length < 5) this.found.push(`${this.stage} ${where}: cpu 0x${(cpu >>> 0).toString(16)} gpu 0x${(gpu >>> 0).toString(16)}`);
  }

  get total(): number {
    return this.count;
  }
}

interface StageCase {
  readonly name: string;
  readonly contract: Contract;
  readonly shape: Shape;
  readonly inputs: CaseInputs;
}

function stageCase(name: string, preset: string, generator: string, changes: (contract: Contract) => object = (c) => c): StageCase {
  const built = buildCase({ preset, ranks: 2, tokens: 4, hidden: 512, group: null, inputs: generator, seed: 21 });
  return { name, contract: parseContract(changes(built.contract)), shape: built.shape, inputs: built.inputs };
}

const CASES: readonly StageCase[] = [
  // The CPU half's hand-derived row (unfused: ranks [1, 2] and [2, 2], residual [1, -4], weight [1, 0.5]).
  {
    name: "the CPU half's hand-derived row (unfused, 2x1x2)",
    contract: getPreset('unfused').contract,
    shape: { ranks: 2, tokens: 1, hidden: 2 },
    inputs: caseOf(
      [
        [1, 2],
        [2, 2],
      ],
      [1, -4],
      [1, 0.5],
    ),
  },
  stageCase('aiter-1stage-quant (butterfly, f32 quant input)', 'aiter-1stage-quant', 'random'),
  stageCase('vllm-group-quant (cub, bf16 quant input, intermediate rounding)', 'vllm-group-quant', 'special'),
  stageCase('flush, dpp-wave64 interleaved from the plan, pair-fma, scale floor after ue8m0', 'vllm-group-quant', 'subnormals', (c) => ({
    ...c,
    f32Subnormals: 'flush',
    norm: { ...c.norm, sumOfSquares: { perThread: 'pair-fma', tree: { kind: 'dpp-wave64', blockSize: 64, perThread: 8, layout: 'interleaved' } } },
    quant: { ...c.quant, ue8m0: 'ceil', scaleFloor: { value: 1 / (448 * 512), stage: 'after-ue8m0' } },
  })),
  // The sm_90 hardware-op slots (shaders/engine/hardwareOps.wgsl): rsqrt.approx in rstd, div.full
  // in the variance and the scale, rcp.approx of the scale for the quantize multiply.
  stageCase('sm_90 slots: rsqrt.approx, div.full variance and scale, rcp.approx of the scale', 'aiter-1stage-quant', 'random', (c) => ({
    ...c,
    hardwareOps: { rsqrt: 'sm90', reciprocal: 'sm90', divide: 'sm90-div-full' },
    quant: { ...c.quant, quantize: 'reciprocal' },
  })),
  // test/engines/dimensions.test.ts's hand-derived rows for aiter's and FlashInfer's extra numerics.
  {
    name: 'norm.epsAdd f64 at the hand-derived f32 tie (variance 529/1024, eps 2^-25 + 2^-51), flush',
    contract: parseContract({
      ...getPreset('unfused').contract,
      f32Subnormals: 'flush',
      norm: { ...getPreset('unfused').contract.norm, eps: 2 ** -25 + 2 ** -51, epsAdd: 'f64' },
    }),
    shape: { ranks: 1, tokens: 2, hidden: 2 },
    inputs: caseOf([[0.71875, 0.71875, 1.5, -0.75]], [0, 0, 0, 0], [1, 1], 2),
  },
  {
    name: 'allReduce.negativeZeroInputs positive on signed zeros (2x2x2)',
    contract: parseContract({ ...getPreset('unfused').contract, allReduce: { ...getPreset('unfused').contract.allReduce, negativeZeroInputs: 'positive' } }),
    shape: { ranks: 2, tokens: 2, hidden: 2 },
    inputs: caseOf(
      [
        [-0, -0, 1, -0],
        [-0, 1, -0, -0],
      ],
      [-0, 0, -0, 1],
      [1, 1],
      2,
    ),
  },
  (() => {
    const built = buildCase({ preset: 'unfused', ranks: 2, tokens: 4, hidden: 8 * 40, group: null, inputs: 'random', seed: 22 });
    const contract = parseContract({
      ...built.contract,
      norm: {
        ...built.contract.norm,
        eps: 1e-6,
        epsAdd: 'f64',
        sumOfSquares: { perThread: 'chain', tree: { kind: 'butterfly', perThread: 8, tailWarp: 'drop' } },
      },
    });
    return { name: 'butterfly tailWarp drop (H = 320: 40 threads, 8 dropped) with a f64 eps add', contract, shape: built.shape, inputs: built.inputs };
  })(),
];

/** Runs every stage pair on a case; returns the mismatches per stage and the stages checked. */
async function compareStages(ctx: GpuContext, { contract, shape, inputs }: StageCase): Promise<{ problems: string[]; checked: Set<StageName> }> {
  const c = cpuCase(contract, shape, inputs);
  const { tokens, hidden } = shape;
  const uploaded = await uploadCase(ctx, contract, shape, inputs);
  const problems: string[] = [];
  const checked = new Set<StageName>();
  const report = (m: StageMismatches, stage: StageName): void => {
    checked.add(stage);
    if (m.total > 0) problems.push(`${m.total} mismatches: ${m.found.join('; ')}`);
  };
  try {
    // allReduce: x (f32) and the residual output (bf16), per row.
    const gpuX = await probeStage(uploaded, 'allReduce', 'x');
    const gpuResidual = await probeStage(uploaded, 'allReduce', 'residualOut');
    const ar = new StageMismatches('allReduce');
    const xRow = new Float32Array(hidden);
    const residualRow = new Uint16Array(hidden);
    for (let row = 0; row < tokens; row++) {
      allReduceTwin.cpu(c, row, 0, xRow, residualRow);
      for (let h = 0; h < hidden; h++) {
        const e = row * hidden + h;
        ar.check(bitsFromF32(xRow[h]) === gpuX[e], `x[${row}, ${h}]`, bitsFromF32(xRow[h]), gpuX[e]);
        if (contract.residual) ar.check(residualRow[h] === bf16At(gpuResidual, e), `residual[${row}, ${h}]`, residualRow[h], bf16At(gpuResidual, e));
      }
    }
    report(ar, 'allReduce');

    // The GPU's x as the next stages' input.
    const gpuXRow = (row: number): Float32Array => Float32Array.from(gpuX.subarray(row * hidden, (row + 1) * hidden), f32FromBits);

    // sumOfSquares: rstd per row from the GPU's x.
    const gpuRstd = await probeStage(uploaded, 'sumOfSquares', 'rstd');
    const ss = new StageMismatches('sumOfSquares');
    for (let row = 0; row < tokens; row++) {
      const rstd = bitsFromF32(sumOfSquaresTwin.cpu(c, gpuXRow(row)));
      ss.check(rstd === gpuRstd[row], `rstd[${row}]`, rstd, gpuRstd[row]);
    }
    report(ss, 'sumOfSquares');

    // normalize: the f32 normed value (left in x) and out.norm, from the GPU's x and rstd.
    const gpuNormed = await probeStage(uploaded, 'normalize', 'x');
    const gpuNormOut = await probeStage(uploaded, 'normalize', 'normOut');
    const nm = new StageMismatches('normalize');
    const normed = new Float32Array(hidden);
    const normRow = new Uint16Array(hidden);
    for (let row = 0; row < tokens; row++) {
      normalizeTwin.cpu(c, gpuXRow(row), f32FromBits(gpuRstd[row]), normed, normRow);
      for (let h = 0; h < hidden; h++) {
        const e = row * hidden + h;
        nm.check(bitsFromF32(normed[h]) === gpuNormed[e], `normed[${row}, ${h}]`, bitsFromF32(normed[h]), gpuNormed[e]);
        nm.check(normRow[h] === bf16At(gpuNormOut, e), `normOut[${row}, ${h}]`, normRow[h], bf16At(gpuNormOut, e));
      }
    }
    report(nm, 'normalize');

    const q = c.quant;
    if (!q) return { problems, checked };
    // The values each group quantizes, from the GPU's normalize stage.
    const groupValues = (row: number, g: number): Float32Array =>
      Float32Array.from({ length: q.groupSize }, (_, k) => {
        const e = row * hidden + g * q.groupSize + k;
        return q.quant.input === 'bf16' ? bf16Value(bf16At(gpuNormOut, e)) : f32FromBits(gpuNormed[e]);
      });

    // groupScale: the scale, its reciprocal through the reciprocal slot, and the divisor reciprocal quantize divides by, per group.
    const gpuScales = await probeStage(uploaded, 'groupScale', 'scales');
    const gs = new StageMismatches('groupScale');
    for (let row = 0; row < tokens; row++) {
      for (let g = 0; g < q.groups; g++) {
        const scale = groupScaleTwin.cpu(q, c.f32, groupValues(row, g));
        // Three regions of tokens * groups words (quant.wgsl): scales, reciprocals, divisor reciprocals.
        const at = row * q.groups + g;
        const region = tokens * q.groups;
        gs.check(bitsFromF32(scale) === gpuScales[at], `scale[${row}, ${g}]`, bitsFromF32(scale), gpuScales[at]);
        const reciprocal = bitsFromF32(c.ops.reciprocal(scale)); // the reciprocal slot, as quant.ts quantize forms it
        gs.check(reciprocal === gpuScales[region + at], `reciprocal[${row}, ${g}]`, reciprocal, gpuScales[region + at]);
        const divisorReciprocal = f32_divisorReciprocal(bitsFromF32(scale), contract.f32Subnormals);
        gs.check(divisorReciprocal === gpuScales[2 * region + at], `divisor reciprocal[${row}, ${g}]`, divisorReciprocal, gpuScales[2 * region + at]);
      }
    }
    report(gs, 'groupScale');

    // quantize: the codes from the GPU's values and scales.
    const gpuCodes = new Uint8Array((await probeStage(uploaded, 'quantize', 'q')).buffer);
    const qz = new StageMismatches('quantize');
    const codes = new Uint8Array(tokens * hidden);
    for (let row = 0; row < tokens; row++) {
      for (let g = 0; g < q.groups; g++) {
        const offset = row * hidden + g * q.groupSize;
        quantizeTwin.cpu(q, c.f32, groupValues(row, g), f32FromBits(gpuScales[row * q.groups + g]), codes, offset);
        for (let k = 0; k < q.groupSize; k++)
          qz.check(codes[offset + k] === gpuCodes[offset + k], `q[${row}, ${g * q.groupSize + k}]`, codes[offset + k], gpuCodes[offset + k]);
      }
    }
    report(qz, 'quantize');
    return { problems, checked };
  } finally {
    releaseCase(uploaded);
  }
}

describe.each(SOFTWARE_ADAPTERS)('each WGSL stage beside its CPU twin on %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it.for(CASES.map((c) => [c.name, c] as const))('%s', async ([, stageCaseToRun], { skip }) => {
    const ctx = device(skip);
    const { problems, checked } = await compareStages(ctx, stageCaseToRun);
    expect(problems).toEqual([]);
    // Every stage of the registry that the contract runs was checked beside its twin.
    const runs = STAGE_TWINS.map((t) => t.name).filter((name) => stageCaseToRun.contract.quant || (name !== 'groupScale' && name !== 'quantize'));
    expect([...checked]).toEqual(runs);
  });
});
