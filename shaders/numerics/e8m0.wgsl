// Twin of src/numerics/e8m0.ts (roundToPowerOfTwo, f32BitsFromE8m0).
// mode: E8M0_ROUNDING_CEIL, _FLOOR or _RNE (generated from E8M0_ROUNDINGS); any other code
// returns WGSL_INVALID_ARGUMENT.

// Rounds a non-negative f32 (bits; the sign is ignored) to a power of two, returned as f32
// bits. Zero stays zero, NaN becomes the default NaN, a result past 2^127 is +Inf. rne breaks
// ties towards the even e8m0 code, which is the even biased exponent.
fn roundToPowerOfTwo(bits: u32, mode: u32) -> u32 {
  if (mode >= E8M0_ROUNDING_COUNT) { return WGSL_INVALID_ARGUMENT; }
  if (isNaNF32UI(bits)) { return DEFAULT_NAN_F32UI; }
  let magnitude = bits & 0x7fffffffu;
  if (magnitude == 0u || magnitude == 0x7f800000u) { return magnitude; }
  let exponentField = magnitude >> 23u;
  let mantissa = magnitude & 0x7fffffu;
  if (exponentField == 0u) {
    // f32 subnormal: the power of two is a single mantissa bit.
    let lead = 31u - countLeadingZeros(mantissa);
    let down = 1u << lead;
    if (mantissa == down || mode == E8M0_ROUNDING_FLOOR) { return down; }
    if (mode == E8M0_ROUNDING_CEIL) { return down << 1u; }
    let half = down >> 1u;
    let rest = mantissa - down;
    if (rest > half || (rest == half && (lead & 1u) == 1u)) { return down << 1u; }
    return down;
  }
  if (mantissa == 0u || mode == E8M0_ROUNDING_FLOOR) { return exponentField << 23u; }
  let roundUp = mode == E8M0_ROUNDING_CEIL || mantissa > 0x400000u || (mantissa == 0x400000u && (exponentField & 1u) == 1u);
  let exponentOut = select(exponentField, exponentField + 1u, roundUp);
  return select(exponentOut << 23u, 0x7f800000u, exponentOut >= 255u);
}

fn f32BitsFromE8m0(code: u32) -> u32 {
  if (code == 0xffu) { return DEFAULT_NAN_F32UI; }
  if (code == 0u) { return 0x00400000u; } // 2^-127 is an f32 subnormal
  return code << 23u;
}
