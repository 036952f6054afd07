// Twin of src/softfloat/f32_div.ts.

// f32 division on bit patterns, round to nearest even.
fn f32_div(inA: u32, inB: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let uiB = operandF32UI(inB, subnormals);
  var expA = expF32UI(uiA);
  var sigA = fracF32UI(uiA);
  var expB = expF32UI(uiB);
  var sigB = fracF32UI(uiB);
  let signZ = signF32UI(uiA) ^ signF32UI(uiB);

  if (expA == 0xff) {
    if (sigA != 0u) { return s_propagateNaN(uiA, uiB); }
    if (expB == 0xff) {
      if (sigB != 0u) { return s_propagateNaN(uiA, uiB); }
      return DEFAULT_NAN_F32UI; // Inf / Inf
    }
    return packToF32UI(signZ, 0xff, 0u);
  }
  if (expB == 0xff) {
    if (sigB != 0u) { return s_propagateNaN(uiA, uiB); }
    return packToF32UI(signZ, 0, 0u);
  }
  if (expB == 0) {
    if (sigB == 0u) {
      if ((u32(expA) | sigA) == 0u) { return DEFAULT_NAN_F32UI; } // 0 / 0
      return packToF32UI(signZ, 0xff, 0u);
    }
    let normB = s_normSubnormalF32Sig(sigB);
    expB = normB.exp;
    sigB = normB.sig;
  }
  if (expA == 0) {
    if (sigA == 0u) { return packToF32UI(signZ, 0, 0u); }
    let normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }

  // Scale A so the quotient lies in [1, 2), then divide one bit at a time: the remainder stays
  // below 2 * sigB < 2^25, so 32-bit integers suffice. 31 quotient bits put the leading 1 at
  // bit 30; a non-zero remainder becomes the sticky bit.
  var expZ = expA - expB + 0x7e;
  sigA |= 0x00800000u;
  sigB |= 0x00800000u;
  if (sigA < sigB) {
    expZ -= 1;
    sigA <<= 1u;
  }
  var rem = sigA;
  var sigZ = 0u;
  for (var i = 0; i < 31; i++) {
    sigZ <<= 1u;
    if (rem >= sigB) {
      rem -= sigB;
      sigZ |= 1u;
    }
    rem <<= 1u;
  }
  return s_roundPackToF32(signZ, expZ, sigZ | select(0u, 1u, rem != 0u), subnormals);
}
