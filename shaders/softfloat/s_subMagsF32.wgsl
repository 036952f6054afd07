// Twin of src/softfloat/s_subMagsF32.ts.

// a + b for operands of opposite signs (the magnitude of b is subtracted from a).
fn s_subMagsF32(uiA: u32, uiB: u32, subnormals: u32) -> u32 {
  let expA = expF32UI(uiA);
  var sigA = fracF32UI(uiA);
  let expB = expF32UI(uiB);
  var sigB = fracF32UI(uiB);
  var signZ = signF32UI(uiA);
  let expDiff = expA - expB;

  if (expDiff == 0) {
    if (expA == 0xff) {
      if ((sigA | sigB) != 0u) { return s_propagateNaN(uiA, uiB); }
      return DEFAULT_NAN_F32UI; // Inf - Inf
    }
    // Same exponent: the difference is exact.
    var sigDiff = i32(sigA) - i32(sigB);
    if (sigDiff == 0) { return packToF32UI(0u, 0, 0u); } // exact cancellation is +0 when rounding to nearest
    if (sigDiff < 0) {
      signZ ^= 1u;
      sigDiff = -sigDiff;
    }
    let expZ = select(0, expA - 1, expA != 0);
    return s_normRoundPackToF32(signZ, expZ, u32(sigDiff) << 7u, subnormals);
  }

  // Hidden bit at 30; the larger operand is X, and the result keeps X's sign.
  sigA <<= 7u;
  sigB <<= 7u;
  var expZ: i32;
  var sigX: u32;
  var sigY: u32;
  var dist: u32;
  if (expDiff < 0) {
    signZ ^= 1u;
    if (expB == 0xff) {
      if (sigB != 0u) { return s_propagateNaN(uiA, uiB); }
      return packToF32UI(signZ, 0xff, 0u);
    }
    expZ = expB - 1;
    sigX = sigB | 0x40000000u;
    sigY = sigA + select(sigA, 0x40000000u, expA != 0);
    dist = u32(-expDiff);
  } else {
    if (expA == 0xff) {
      if (sigA != 0u) { return s_propagateNaN(uiA, uiB); }
      return uiA;
    }
    expZ = expA - 1;
    sigX = sigA | 0x40000000u;
    sigY = sigB + select(sigB, 0x40000000u, expB != 0);
    dist = u32(expDiff);
  }
  return s_normRoundPackToF32(signZ, expZ, sigX - s_shiftRightJam32(sigY, dist), subnormals);
}
