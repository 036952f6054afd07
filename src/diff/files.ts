import { FormatError } from '../fixtures/errors.js';
import { METADATA_KEYS, readGoldenInputs, readGoldenUnhashed } from '../fixtures/golden.js';
import { decodeSafetensors, readInputFile, readSafetensorsUnhashed, readSafetensorsHeader, SafetensorsError } from '../fixtures/safetensors.js';
import type { Tensor } from '../numerics/tensor.js';
import type { GoldenSubject } from './diff.js';
import { candidateOutputs, isOutputName, type AnyTensor } from './pairs.js';

// Reading the two files the diff tools take. readInputFile refuses, in one line and before
// allocating, a missing or unreadable file, a directory, a device (/dev/zero), a FIFO and a file
// over the size limit; the safetensors reader and readGolden name malformed contents.
// The usual mistakes get a message that says what was found and what to do: a torch.save
// file, FP8 codes saved as uint8, outputs without the `out.` prefix, the two files swapped.

const WRITE_HINT = 'write it with ulpwise.save_candidate (Python) or safetensors.torch.save_file';

/** What a file that is not safetensors looks like, or null when nothing is recognised. */
function foreignFormat(bytes: Uint8Array): string | null {
  // torch.save writes a zip archive (PK\x03\x04) since PyTorch 1.6, a bare pickle (0x80, protocol 2-5) before.
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'a zip archive (torch.save writes these)';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return 'a Python pickle (torch.save or pickle.dump)';
  if (bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY') return 'a NumPy .npy file';
  return null;
}

/** The header's tensor entries when the file starts like safetensors, else null. */
function headerEntries(bytes: Uint8Array): Record<string, { dtype?: unknown }> | null {
  if (bytes.length < 8) return null;
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (length <= 0 || 8 + length > bytes.length) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, { dtype?: unknown }>;
  } catch {
    return null;
  }
}

/** A clearer message for a file the safetensors reader refused, or null to keep its own. */
function explainUnreadable(bytes: Uint8Array, path: string, role: string): string | null {
  const foreign = foreignFormat(bytes);
  if (foreign) return `${path} is ${foreign}, not safetensors: ${WRITE_HINT}`;
  const header = headerEntries(bytes);
  if (!header) return null;
  const integer = Object.entries(header).filter(([name, e]) => /(^|\.)out\.q$/.test(name) && (e.dtype === 'U8' || e.dtype === 'I8'));
  if (integer.length > 0 && role === 'candidate') {
    const [name, entry] = integer[0];
    return (
      `${path}: '${name}' holds ${String(entry.dtype)} integers, so its FP8 format is unknown; save the codes as a float8 dtype ` +
      `(q.view(torch.float8_e4m3fn), or the golden's format) or use ulpwise.save_candidate, which does it for you`
    );
  }
  return null;
}

function decode(bytes: Uint8Array, path: string, role: string) {
  try {
    return decodeSafetensors(bytes, path);
  } catch (e) {
    const better = e instanceof SafetensorsError ? explainUnreadable(bytes, path, role) : null;
    if (better !== null) throw new FormatError(better);
    throw e;
  }
}

function isGoldenFile(bytes: Uint8Array): boolean {
  const header = headerEntries(bytes) as { __metadata__?: Record<string, unknown> } | null;
  return header?.__metadata__?.[METADATA_KEYS.case] !== undefined;
}

/** Whether the file's header carries golden metadata; false too for a file the header reader
 *  refuses (loadGolden then reads it whole to say what it is). Reads the header alone. */
function hasGoldenHeader(path: string): boolean {
  try {
    return readSafetensorsHeader(path, 'golden').metadata[METADATA_KEYS.case] !== undefined;
  } catch {
    return false;
  }
}

/** Reads a golden. `candidatePath` (when given) lets a file without golden metadata be
 *  reported as swapped arguments when the candidate is the golden. A golden is read tensor by
 *  tensor, unhashed (readGoldenUnhashed); only a file that is not one is read whole, for the message. */
export function loadGolden(path: string, candidatePath?: string): GoldenSubject {
  refuseNonGolden(path, candidatePath);
  const golden = readGoldenUnhashed(path);
  return { contract: golden.contract, shape: golden.shape, inputs: golden.inputs, outputs: golden.outputs, file: path, preset: golden.spec.preset };
}

/** loadGolden without the outputs' data (readGoldenInputs: checked alike, the outputs from the
 *  header): what explain reads of a golden, with the outputs' names. */
export function loadGoldenInputs(path: string): Omit<GoldenSubject, 'outputs'> & { readonly outputNames: readonly string[] } {
  refuseNonGolden(path);
  const golden = readGoldenInputs(path);
  return { contract: golden.contract, shape: golden.shape, inputs: golden.inputs, outputNames: golden.outputNames, file: path, preset: golden.spec.preset };
}

/** Throws, saying what the file is, unless `path` is an ulpwise golden. */
function refuseNonGolden(path: string, candidatePath?: string): void {
  const bytes = hasGoldenHeader(path) ? null : readInputFile(path, 'golden');
  if (bytes && !isGoldenFile(bytes)) {
    const foreign = foreignFormat(bytes);
    if (foreign) throw new FormatError(`the golden ${path} is ${foreign}, not an ulpwise golden (ulpwise gen writes goldens)`);
    decode(bytes, path, 'golden');
    const swapped = candidatePath !== undefined && isGoldenFile(readInputFile(candidatePath, 'candidate'));
    throw new FormatError(
      swapped
        ? `${path} is not an ulpwise golden but ${candidatePath} is: the arguments look swapped; the golden comes first (ulpwise diff GOLDEN CANDIDATE)`
        : `${path} has no '${METADATA_KEYS.case}' metadata: not an ulpwise golden (ulpwise gen writes goldens; the golden comes first: ulpwise diff GOLDEN ` +
            `CANDIDATE)`,
    );
  }
}

/** The tensor names of a candidate and its tensors named as outputs, read tensor by tensor (the
 *  inputs a candidate file may also hold are read past, not kept); a file the reader refuses is
 *  read whole for a clearer message (decode). */
function readCandidateFile(path: string): { names: string[]; tensors: ReadonlyMap<string, AnyTensor> } {
  try {
    const { tensors, described } = readSafetensorsUnhashed(path, 'candidate', isOutputName);
    return { names: [...described.keys()], tensors };
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    decode(readInputFile(path, 'candidate'), path, 'candidate');
    throw e;
  }
}

/** A candidate's output tensors; with the golden, tensors named without the `out.` prefix are
 *  recognised and the message says what to rename. */
export function loadCandidate(path: string, golden?: Pick<GoldenSubject, 'outputs'> | { readonly outputNames: readonly string[] }): Map<string, Tensor> {
  const { names, tensors } = readCandidateFile(path);
  if (golden) {
    const present = new Set(names);
    const bare = ('outputNames' in golden ? golden.outputNames : [...golden.outputs.keys()])
      .map((name) => [name, name.replace(/(^|\.)out\./, '$1')] as const)
      .filter(([name, short]) => !present.has(name) && present.has(short));
    if (bare.length > 0) {
      throw new FormatError(
        `${path}: output tensors need the golden's names: ${bare.map(([name, short]) => `'${short}' -> '${name}'`).join(', ')} (ulpwise.save_candidate names ` +
          `them)`,
      );
    }
  }
  return candidateOutputs(tensors, path);
}
