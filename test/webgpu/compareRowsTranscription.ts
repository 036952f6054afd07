import { compareFormatParams, TALLY_WORDS, type GpuCompareFormat } from '../../src/engines/webgpu/compare.js';

// shaders/diff/compareRows.wgsl transcribed statement for statement (one workgroup's lanes run
// one after another; their atomics become plain sums and a max), so the shader's definition of
// a mismatch and of its ULP distance can be checked against src/diff/compare.ts on every code
// pair of a format, which a GPU run of small shapes cannot afford.

/** Element i's code in its word: codes are packed from the low bits up. */
function codeInWord(codeBits: number, word: number, i: number): number {
  if (codeBits === 32) return word >>> 0;
  const shift = (i % (32 / codeBits)) * codeBits;
  return (word >>> shift) & ((1 << codeBits) - 1);
}

export function compareRowsTranscribed(
  referenceWords: Uint32Array,
  candidateWords: Uint32Array,
  format: GpuCompareFormat,
  rows: number,
  rowLength: number,
): Uint32Array {
  const params = compareFormatParams(format);
  const isNanCode = (code: number): boolean => (params.fnuz === 1 ? code === params.signBit : (code & (params.signBit - 1)) >>> 0 > params.nanAboveMagnitude);
  const isInfCode = (code: number): boolean => params.infMagnitude !== 0 && (code & (params.signBit - 1)) >>> 0 === params.infMagnitude;
  const absUlpDistance = (expected: number, actual: number): number => {
    const magnitudeMask = params.signBit - 1;
    const expectedMagnitude = (expected & magnitudeMask) >>> 0;
    const actualMagnitude = (actual & magnitudeMask) >>> 0;
    const expectedNegative = expected >= params.signBit && expectedMagnitude !== 0;
    const actualNegative = actual >= params.signBit && actualMagnitude !== 0;
    if (expectedNegative === actualNegative) return Math.max(expectedMagnitude, actualMagnitude) - Math.min(expectedMagnitude, actualMagnitude);
    return expectedMagnitude + actualMagnitude;
  };
  const tallies = new Uint32Array(TALLY_WORDS * rows);
  const perWord = 32 / params.codeBits;
  for (let row = 0; row < rows; row++) {
    let differing = 0;
    let nan = 0;
    let inf = 0;
    let maxUlp = 0;
    for (let k = 0; k < rowLength; k++) {
      const i = row * rowLength + k;
      const expected = codeInWord(params.codeBits, referenceWords[Math.floor(i / perWord)], i);
      const actual = codeInWord(params.codeBits, candidateWords[Math.floor(i / perWord)], i);
      const expectedNan = isNanCode(expected);
      const actualNan = isNanCode(actual);
      if (expected === actual || (expectedNan && actualNan)) continue;
      differing += 1;
      if (expectedNan || actualNan) nan += 1;
      else if (isInfCode(expected) || isInfCode(actual)) inf += 1;
      else maxUlp = Math.max(maxUlp, absUlpDistance(expected, actual));
    }
    tallies.set([differing, nan, inf, maxUlp], TALLY_WORDS * row);
  }
  return tallies;
}
