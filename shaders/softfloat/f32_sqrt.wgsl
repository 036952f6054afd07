// Twin of src/softfloat/f32_sqrt.ts.

// f32 square root on bit patterns, round to nearest even.
fn f32_sqrt(inA: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let signA = signF32UI(uiA);
  var expA = expF32UI(uiA);
  var sigA = fracF32UI(uiA);

  if (expA == 0xff) {
    if (sigA != 0u) { return s_propagateNaN(uiA, 0u); }
    if (signA == 0u) { return uiA; }
    return DEFAULT_NAN_F32UI; // sqrt(-Inf)
  }
  if (signA != 0u) {
    if ((u32(expA) | sigA) == 0u) { return uiA; } // sqrt(-0) = -0
    return DEFAULT_NAN_F32UI;
  }
  if (expA == 0) {
    if (sigA == 0u) { return uiA; }
    let normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }

  // The value is R * 2^(2t) with R = sig << 1 or sig << 2 (by the parity of expA), so that
  // R is in [2^24, 2^26) and sqrt(R) in [2^12, 2^13). The root of R * 2^28 is taken bit by bit
  // (two radicand bits per step); it lands in [2^26, 2^27) and the remainder, at most twice
  // the root, stays below 2^30. A non-zero remainder becomes the sticky bit.
  let expZ = (expA + 125) >> 1u;
  var radicandBits = ((sigA | 0x00800000u) << u32(2 - (expA & 1))) << 6u;
  var root = 0u;
  var rem = 0u;
  for (var i = 0; i < 27; i++) {
    rem = (rem << 2u) | (radicandBits >> 30u);
    radicandBits <<= 2u;
    let trial = (root << 2u) | 1u;
    root <<= 1u;
    if (rem >= trial) {
      rem -= trial;
      root |= 1u;
    }
  }
  return s_roundPackToF32(0u, expZ, (root << 4u) | select(0u, 1u, rem != 0u), subnormals);
}
