import { readGolden } from '../fixtures/golden.js';
import { decodeSafetensors, readInputFile } from '../fixtures/safetensors.js';
import type { Tensor } from '../numerics/tensor.js';
import type { GoldenSubject } from './diff.js';
import { candidateOutputs } from './pairs.js';

// Reading the two files the diff tools take. readInputFile refuses, in one line and before
// allocating, a missing or unreadable file, a directory, a device (/dev/zero), a FIFO and a file
// over the size limit; the safetensors reader and readGolden name malformed contents.

export function loadGolden(path: string): GoldenSubject {
  const golden = readGolden(path);
  return { contract: golden.contract, shape: golden.shape, inputs: golden.inputs, outputs: golden.outputs, file: path, preset: golden.spec.preset };
}

export function loadCandidate(path: string): Map<string, Tensor> {
  return candidateOutputs(decodeSafetensors(readInputFile(path, 'candidate'), path).tensors, path);
}
