// Twin of src/softfloat/f32_mul.ts.

// f32 multiplication on bit patterns, round to nearest even.
fn f32_mul(inA: u32, inB: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let uiB = operandF32UI(inB, subnormals);
  var expA = expF32UI(uiA);
  var sigA = fracF32UI(uiA);
  var expB = expF32UI(uiB);
  var sigB = fracF32UI(uiB);
  let signZ = signF32UI(uiA) ^ signF32UI(uiB);

  if (expA == 0xff || expB == 0xff) {
    if (isNaNF32UI(uiA) || isNaNF32UI(uiB)) { return s_propagateNaN(uiA, uiB); }
    if ((uiA & 0x7fffffffu) == 0u || (uiB & 0x7fffffffu) == 0u) { return DEFAULT_NAN_F32UI; } // Inf * 0
    return packToF32UI(signZ, 0xff, 0u);
  }
  if (expA == 0) {
    if (sigA == 0u) { return packToF32UI(signZ, 0, 0u); }
    let normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }
  if (expB == 0) {
    if (sigB == 0u) { return packToF32UI(signZ, 0, 0u); }
    let normB = s_normSubnormalF32Sig(sigB);
    expB = normB.exp;
    sigB = normB.sig;
  }

  // [2^30, 2^31) x [2^31, 2^32): the product's top half has its leading 1 at bit 29 or 30.
  var expZ = expA + expB - 0x7f;
  let product = s_mul32To64((sigA | 0x00800000u) << 7u, (sigB | 0x00800000u) << 8u);
  var sigZ = product.hi | select(0u, 1u, product.lo != 0u);
  if (sigZ < 0x40000000u) {
    expZ -= 1;
    sigZ <<= 1u;
  }
  return s_roundPackToF32(signZ, expZ, sigZ, subnormals);
}
