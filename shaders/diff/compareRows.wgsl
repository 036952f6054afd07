// Per-row comparison of a reference output with a candidate's, on codes, as src/diff/compare.ts
// defines it (compareTensors, MismatchTally; ulpDistance and isNanCode of src/numerics/ulp.ts):
// NaN codes are one class (two NaNs match whatever their payload or sign); a NaN against a
// number is a NaN mismatch; an infinity on one side (and no NaN) an Inf mismatch; otherwise the
// distance is the difference of ordinals on the code line, where +0 and -0 share ordinal 0 (so
// -0 against +0 differs at distance 0). One workgroup per row; each row's tally is
// [differing, nanMismatches, infMismatches, maxUlp] at tallies[4 * (firstRow + row)].

struct CompareParams {
  rows: u32,
  rowLength: u32,
  // 8 (fp8, four codes a word), 16 (bf16, two a word) or 32 (f32): little-endian, as the tensors hold them.
  codeBits: u32,
  signBit: u32,
  // A code is NaN when its magnitude is above this (bf16 0x7F80, f32 0x7F800000, e5m2 0x7C,
  // e4m3fn 0x7E: its only NaN magnitude is 0x7F); fnuz formats instead have one NaN code, 0x80.
  nanAboveMagnitude: u32,
  fnuz: u32,
  // The infinity's magnitude, or 0 where the format has none.
  infMagnitude: u32,
  firstRow: u32,
}

@group(0) @binding(0) var<uniform> params: CompareParams;
@group(0) @binding(1) var<storage, read> referenceWords: array<u32>;
@group(0) @binding(2) var<storage, read> candidateWords: array<u32>;
@group(0) @binding(3) var<storage, read_write> tallies: array<u32>;

const COMPARE_WORKGROUP_SIZE: u32 = 64u;

var<workgroup> rowDiffering: atomic<u32>;
var<workgroup> rowNan: atomic<u32>;
var<workgroup> rowInf: atomic<u32>;
var<workgroup> rowMaxUlp: atomic<u32>;

// Element i's code in its word: codes are packed from the low bits up.
fn codeInWord(word: u32, i: u32) -> u32 {
  if (params.codeBits == 32u) {
    return word;
  }
  let shift = (i % (32u / params.codeBits)) * params.codeBits;
  return (word >> shift) & ((1u << params.codeBits) - 1u);
}

fn isNanCode(code: u32) -> bool {
  if (params.fnuz == 1u) {
    return code == params.signBit;
  }
  return (code & (params.signBit - 1u)) > params.nanAboveMagnitude;
}

fn isInfCode(code: u32) -> bool {
  return params.infMagnitude != 0u && (code & (params.signBit - 1u)) == params.infMagnitude;
}

// |ordinal(actual) - ordinal(expected)| without leaving u32: ordinals are -magnitude for a
// negative nonzero code, else the magnitude, so codes of one sign differ by the difference of
// magnitudes and codes of opposite signs by their sum (at most 2 * 0x7F7FFFFF for f32).
fn absUlpDistance(expected: u32, actual: u32) -> u32 {
  let magnitudeMask = params.signBit - 1u;
  let expectedMagnitude = expected & magnitudeMask;
  let actualMagnitude = actual & magnitudeMask;
  let expectedNegative = expected >= params.signBit && expectedMagnitude != 0u;
  let actualNegative = actual >= params.signBit && actualMagnitude != 0u;
  if (expectedNegative == actualNegative) {
    return max(expectedMagnitude, actualMagnitude) - min(expectedMagnitude, actualMagnitude);
  }
  return expectedMagnitude + actualMagnitude;
}

@compute @workgroup_size(COMPARE_WORKGROUP_SIZE)
fn compareRows(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u, @builtin(local_invocation_index) lane: u32) {
  let row = linearWorkgroupIndex(workgroupId, numWorkgroups);
  if (lane == 0u) {
    atomicStore(&rowDiffering, 0u);
    atomicStore(&rowNan, 0u);
    atomicStore(&rowInf, 0u);
    atomicStore(&rowMaxUlp, 0u);
  }
  workgroupBarrier();
  // The grid may hold a few more workgroups than rows (splitWorkgroups); those compare nothing
  // but still reach every barrier.
  if (row < params.rows) {
    var differing = 0u;
    var nan = 0u;
    var inf = 0u;
    var maxUlp = 0u;
    for (var k = lane; k < params.rowLength; k += COMPARE_WORKGROUP_SIZE) {
      let i = row * params.rowLength + k;
      let perWord = 32u / params.codeBits;
      let expected = codeInWord(referenceWords[i / perWord], i);
      let actual = codeInWord(candidateWords[i / perWord], i);
      let expectedNan = isNanCode(expected);
      let actualNan = isNanCode(actual);
      if (expected == actual || (expectedNan && actualNan)) {
        continue;
      }
      differing += 1u;
      if (expectedNan || actualNan) {
        nan += 1u;
      } else if (isInfCode(expected) || isInfCode(actual)) {
        inf += 1u;
      } else {
        maxUlp = max(maxUlp, absUlpDistance(expected, actual));
      }
    }
    atomicAdd(&rowDiffering, differing);
    atomicAdd(&rowNan, nan);
    atomicAdd(&rowInf, inf);
    atomicMax(&rowMaxUlp, maxUlp);
  }
  workgroupBarrier();
  if (lane == 0u && row < params.rows) {
    let at = 4u * (params.firstRow + row);
    tallies[at] = atomicLoad(&rowDiffering);
    tallies[at + 1u] = atomicLoad(&rowNan);
    tallies[at + 2u] = atomicLoad(&rowInf);
    tallies[at + 3u] = atomicLoad(&rowMaxUlp);
  }
}
