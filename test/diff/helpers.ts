import { getPreset } from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';
import { runCpuEngine, type CpuEngineHooks } from '../../src/engines/cpu/engine.js';
import { buildCase } from '../../src/fixtures/golden.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import type { GoldenSubject } from '../../src/diff/diff.js';

/** A golden made the way `ulpwise gen` makes one, held in memory. */
export function goldenCase(preset: string, ranks: number, tokens: number, hidden: number, inputs = 'random', seed = 1): GoldenSubject {
  const built = buildCase({ preset, ranks, tokens, hidden, group: null, inputs, seed });
  return {
    contract: built.contract,
    shape: built.shape,
    inputs: built.inputs,
    outputs: runCpuEngine(built.contract, built.shape, built.inputs),
    file: `${preset}.safetensors`,
    preset,
  };
}

/** A candidate: the golden's inputs run through another contract (with optional engine hooks). */
export function candidateFrom(golden: GoldenSubject, contract: Contract | string, hooks: CpuEngineHooks = {}): Map<string, Tensor> {
  const c = typeof contract === 'string' ? getPreset(contract).contract : contract;
  return runCpuEngine(c, golden.shape, golden.inputs, hooks);
}

export function copyTensor(t: Tensor): Tensor {
  return { ...t, data: t.data.slice() } as Tensor;
}

/** The tensor with one bit of one element flipped. */
export function flipBit(t: Tensor, index: number, bit: number): Tensor {
  const out = copyTensor(t);
  out.data[index] = (out.data[index] ^ (1 << bit)) >>> 0;
  return out;
}
