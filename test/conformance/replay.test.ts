import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import { canonicalJson, parseContract } from '../../src/contracts/validate.js';
import type { Contract, ContractInput } from '../../src/contracts/schema.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { decodeSafetensors, type SafetensorsTensor } from '../../src/fixtures/safetensors.js';
import { readGolden } from '../../src/fixtures/golden.js';

// Real kernels captured on an H200 (conformance/captures, provenance.json) replayed without a
// GPU: every capture through the exact contract conformance/contracts.json records for its
// kernel (and, for Inductor's kernels, its hidden size: the autotune pick), on the CPU engine,
// compared bit for bit with no inference of any kind (hardwareOps.rsqrt 'sm90' is the measured
// instruction). Fails when a change to the engines or the contract space stops reproducing a
// real kernel; the planted changes below show that it can.

const root = fileURLToPath(new URL('../../conformance/', import.meta.url));

interface RecordedContract {
  /** null: every capture of the kernel; else the captures of this hidden size. */
  readonly hidden: number | null;
  /** The Inductor autotune pick the contract's tree is, where the kernel has one. */
  readonly autotune?: string;
  /** The preset whose contract equals this one, or null. */
  readonly preset: string | null;
  readonly contract: ContractInput;
}
const table = JSON.parse(readFileSync(`${root}contracts.json`, 'utf8')) as { kernels: Record<string, RecordedContract[]> };

interface Capture {
  readonly file: string;
  readonly kernel: string;
  readonly golden: string;
  readonly outputs: ReadonlyMap<string, SafetensorsTensor>;
}

function readCapture(file: string): Capture {
  const path = `${root}captures/${file}`;
  const { metadata, tensors } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const info = JSON.parse(metadata['ulpwise.capture'] ?? 'null') as { kernel: string; golden: string } | null;
  if (!info) throw new Error(`${path}: no ulpwise.capture metadata`);
  return { file, kernel: info.kernel, golden: info.golden, outputs: tensors };
}

const captures = readdirSync(`${root}captures`)
  .filter((f) => f.endsWith('.safetensors'))
  .sort()
  .map(readCapture);

function recordedFor(capture: Capture, hidden: number): RecordedContract {
  const entries = table.kernels[capture.kernel] ?? [];
  const entry = entries.find((e) => e.hidden === hidden) ?? entries.find((e) => e.hidden === null);
  if (!entry) throw new Error(`${capture.file}: conformance/contracts.json records no contract for ${capture.kernel} at hidden ${hidden}`);
  return entry;
}

/** Every output element of the capture that the contract computes differently, by output name. */
function differing(capture: Capture, contract: Contract): Record<string, number> {
  const input = readGolden(`${root}inputs/${capture.golden}`);
  const computed = runCpuEngine(contract, input.shape, input.inputs);
  const out: Record<string, number> = {};
  for (const [name, real] of capture.outputs) {
    const ours = computed.get(name);
    if (!ours) throw new Error(`${capture.file}: the contract computes no ${name}`);
    expect(ours.dtype, name).toBe(real.dtype);
    expect(ours.shape, name).toEqual(real.shape);
    let n = 0;
    for (let i = 0; i < real.data.length; i++) if (real.data[i] !== ours.data[i]) n++;
    out[name] = n;
  }
  return out;
}

const hiddenOf = (capture: Capture): number => capture.outputs.get('out.residual')!.shape[1];
const everyZero = (counts: Record<string, number>): Record<string, number> => Object.fromEntries(Object.keys(counts).map((k) => [k, 0]));

describe('conformance captures reproduced bit for bit by their recorded contracts (no inference)', () => {
  it('has 42 captures of 7 kernels, each with a recorded contract', () => {
    expect(captures.length).toBe(42);
    expect(new Set(captures.map((c) => c.kernel)).size).toBe(7);
    expect(Object.keys(table.kernels).sort()).toEqual([...new Set(captures.map((c) => c.kernel))].sort());
  });

  it('records exact contracts only: every rsqrt is the measured sm_90 instruction, no slot is inferred', () => {
    for (const entries of Object.values(table.kernels))
      for (const { contract } of entries) {
        const c = parseContract(contract);
        expect(c.hardwareOps.rsqrt).toBe('sm90');
        expect(Object.values(c.hardwareOps)).not.toContain('inferred');
      }
  });

  it('names presets that compute exactly the recorded contracts', () => {
    const named = Object.values(table.kernels)
      .flat()
      .filter((e) => e.preset !== null);
    expect(named.length).toBeGreaterThan(4);
    for (const e of named) expect(canonicalJson(getPreset(e.preset!).contract), e.preset!).toBe(canonicalJson(parseContract(e.contract)));
  });

  for (const capture of captures) {
    it(`${capture.file}`, () => {
      const counts = differing(capture, parseContract(recordedFor(capture, hiddenOf(capture)).contract));
      expect(counts).toEqual(everyZero(counts));
    });
  }

  // A contract that says something else about these kernels loses some capture. Not every
  // dimension can: on these random rows no capture separates the eager tree's warp shuffle order
  // (increasing offsets) or Inductor's fused + eps from reciprocal-multiply; conformance/SPECS.md
  // says what pins those (the GPU tree probes, the SASS).
  const planted: readonly { kernel: string; what: string; change: (c: ContractInput) => ContractInput }[] = [
    { kernel: 'torch-f-rms-norm', what: "hardwareOps.rsqrt 'ieee'", change: (c) => ({ ...c, hardwareOps: { ...c.hardwareOps, rsqrt: 'ieee' } }) },
    {
      kernel: 'vllm-native',
      what: 'a sequential sum of squares in place of the Reduce.cuh tree',
      change: (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { ...c.norm.sumOfSquares, tree: { kind: 'sequential' } } } }),
    },
    {
      kernel: 'vllm-native-quant',
      what: "quant.scale 'divide' (amax / 448, not amax * RN(1/448))",
      change: (c) => ({ ...c, quant: { ...c.quant!, scale: 'divide' } }),
    },
    {
      kernel: 'compiled-vllm-native-quant',
      what: 'the other autotune candidate (R0_BLOCK 2048 at H 4096)',
      change: (c) => ({
        ...c,
        norm: { ...c.norm, sumOfSquares: { ...c.norm.sumOfSquares, tree: { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 4, numWarps: 16 } } },
      }),
    },
    {
      kernel: 'compiled-hf-llama',
      what: "norm.input 'f32' (normalizing the f32 sum, not the stored bf16 one)",
      change: (c) => ({ ...c, norm: { ...c.norm, input: 'f32' } }),
    },
    {
      kernel: 'compiled-vllm-native',
      what: "the eager chain's bf16 round trip before the weight (Inductor drops it)",
      change: (c) => ({ ...c, norm: { ...c.norm, roundIntermediate: true } }),
    },
  ];
  for (const p of planted) {
    it(`a planted change is caught: ${p.kernel} with ${p.what}`, () => {
      let total = 0;
      for (const capture of captures.filter((c) => c.kernel === p.kernel)) {
        const recorded = recordedFor(capture, hiddenOf(capture));
        total += Object.values(differing(capture, parseContract(p.change(recorded.contract)))).reduce((a, b) => a + b, 0);
      }
      expect(total).toBeGreaterThan(0);
    });
  }
});
