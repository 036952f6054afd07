// Twin of src/softfloat/s_addMagsF32.ts.

// a + b for operands of the same sign.
fn s_addMagsF32(uiA: u32, uiB: u32, subnormals: u32) -> u32 {
  let expA = expF32UI(uiA);
  var sigA = fracF32UI(uiA);
  let expB = expF32UI(uiB);
  var sigB = fracF32UI(uiB);
  let signZ = signF32UI(uiA);
  let expDiff = expA - expB;

  if (expDiff == 0) {
    // Two subnormals (or zeros) add exactly; a carry into the exponent field makes a normal.
    if (expA == 0) { return uiA + sigB; }
    if (expA == 0xff) {
      if ((sigA | sigB) != 0u) { return s_propagateNaN(uiA, uiB); }
      return uiA;
    }
    return s_roundPackToF32(signZ, expA, (0x01000000u + sigA + sigB) << 6u, subnormals);
  }

  // Hidden bit at 29; a subnormal doubles its fraction instead (its exponent is 1, not 0).
  sigA <<= 6u;
  sigB <<= 6u;
  var expZ: i32;
  if (expDiff < 0) {
    if (expB == 0xff) {
      if (sigB != 0u) { return s_propagateNaN(uiA, uiB); }
      return packToF32UI(signZ, 0xff, 0u);
    }
    expZ = expB;
    sigA += select(sigA, 0x20000000u, expA != 0);
    sigA = s_shiftRightJam32(sigA, u32(-expDiff));
  } else {
    if (expA == 0xff) {
      if (sigA != 0u) { return s_propagateNaN(uiA, uiB); }
      return uiA;
    }
    expZ = expA;
    sigB += select(sigB, 0x20000000u, expB != 0);
    sigB = s_shiftRightJam32(sigB, u32(expDiff));
  }
  var sigZ = 0x20000000u + sigA + sigB;
  if (sigZ < 0x40000000u) {
    expZ -= 1;
    sigZ <<= 1u;
  }
  return s_roundPackToF32(signZ, expZ, sigZ, subnormals);
}
