import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { ContractError } from '../contracts/validate.js';
import { readGolden } from '../fixtures/golden.js';
import { decodeSafetensors } from '../fixtures/safetensors.js';
import type { Tensor } from '../numerics/tensor.js';
import type { GoldenSubject } from './diff.js';
import { candidateOutputs } from './pairs.js';

// Reading the two files the diff tools take, with one-line errors for files that are missing,
// unreadable, or not what they should be (the safetensors reader names malformed contents).

function ensureReadable(path: string, role: string): void {
  try {
    if (statSync(path).isDirectory()) throw new ContractError(`cannot read the ${role} ${path}: it is a directory`);
    accessSync(path, constants.R_OK);
  } catch (e) {
    if (e instanceof ContractError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new ContractError(`cannot read the ${role} ${path}: ${why}`);
  }
}

export function loadGolden(path: string): GoldenSubject {
  ensureReadable(path, 'golden');
  const golden = readGolden(path);
  return { contract: golden.contract, shape: golden.shape, inputs: golden.inputs, outputs: golden.outputs, file: path, preset: golden.spec.preset };
}

export function loadCandidate(path: string): Map<string, Tensor> {
  ensureReadable(path, 'candidate');
  return candidateOutputs(decodeSafetensors(new Uint8Array(readFileSync(path)), path).tensors, path);
}
