// Twin of src/softfloat/f32_mulAdd.ts.

// Fused multiply-add a * b + c on bit patterns: the exact result, rounded once to nearest even.
fn f32_mulAdd(inA: u32, inB: u32, inC: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let uiB = operandF32UI(inB, subnormals);
  let uiC = operandF32UI(inC, subnormals);
  var expA = expF32UI(uiA);
  var sigA = fracF32UI(uiA);
  var expB = expF32UI(uiB);
  var sigB = fracF32UI(uiB);
  let signC = signF32UI(uiC);
  var expC = expF32UI(uiC);
  var sigC = fracF32UI(uiC);
  let signProd = signF32UI(uiA) ^ signF32UI(uiB);

  if (isNaNF32UI(uiA) || isNaNF32UI(uiB)) { return s_propagateNaN(uiA, uiB); }
  if (isNaNF32UI(uiC)) { return s_propagateNaN(uiC, 0u); }
  if (expA == 0xff || expB == 0xff) {
    if ((uiA & 0x7fffffffu) == 0u || (uiB & 0x7fffffffu) == 0u) { return DEFAULT_NAN_F32UI; } // Inf * 0
    if (expC == 0xff && signC != signProd) { return DEFAULT_NAN_F32UI; } // Inf - Inf
    return packToF32UI(signProd, 0xff, 0u);
  }
  if (expC == 0xff) { return uiC; }

  if ((expA == 0 && sigA == 0u) || (expB == 0 && sigB == 0u)) {
    // A zero product adds exactly; opposite-signed zeros sum to +0 when rounding to nearest.
    if ((uiC & 0x7fffffffu) == 0u && signC != signProd) { return packToF32UI(0u, 0, 0u); }
    return uiC;
  }
  if (expA == 0) {
    let normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }
  if (expB == 0) {
    let normB = s_normSubnormalF32Sig(sigB);
    expB = normB.exp;
    sigB = normB.sig;
  }

  // The exact product, 64 bits with its leading 1 at bit 61: the top word lines up with a
  // 32-bit significand whose leading 1 is at bit 29.
  var expProd = expA + expB - 0x7e;
  var sigProd = s_mul32To64((sigA | 0x00800000u) << 7u, (sigB | 0x00800000u) << 7u);
  if (sigProd.hi < 0x20000000u) {
    expProd -= 1;
    sigProd = s_shortShiftLeft64(sigProd, 1u);
  }
  var signZ = signProd;
  if (expC == 0) {
    if (sigC == 0u) { return s_roundPackToF32(signZ, expProd - 1, s_shiftRightJam64(sigProd, 31u).lo, subnormals); }
    let normC = s_normSubnormalF32Sig(sigC);
    expC = normC.exp;
    sigC = normC.sig;
  }
  sigC = (sigC | 0x00800000u) << 6u;
  let expDiff = expProd - expC;
  var expZ: i32;
  var sigZ: u32;

  if (signProd == signC) {
    if (expDiff <= 0) {
      expZ = expC;
      sigZ = sigC + s_shiftRightJam64(sigProd, u32(32 - expDiff)).lo;
    } else {
      expZ = expProd;
      let sig64Z = s_add64(sigProd, s_shiftRightJam64(U64(sigC, 0u), u32(expDiff)));
      sigZ = sig64Z.hi | select(0u, 1u, sig64Z.lo != 0u);
    }
    if (sigZ < 0x40000000u) {
      expZ -= 1;
      sigZ <<= 1u;
    }
  } else {
    let sig64C = U64(sigC, 0u);
    var sig64Z: U64;
    if (expDiff < 0) {
      signZ = signC;
      expZ = expC;
      sig64Z = s_sub64(sig64C, s_shiftRightJam64(sigProd, u32(-expDiff)));
    } else if (expDiff == 0) {
      expZ = expProd;
      sig64Z = s_sub64(sigProd, sig64C);
      if ((sig64Z.hi | sig64Z.lo) == 0u) { return packToF32UI(0u, 0, 0u); } // exact cancellation: +0
      if ((sig64Z.hi & 0x80000000u) != 0u) {
        signZ ^= 1u;
        sig64Z = s_sub64(U64(0u, 0u), sig64Z);
      }
    } else {
      expZ = expProd;
      sig64Z = s_sub64(sigProd, s_shiftRightJam64(sig64C, u32(expDiff)));
    }
    // Cancellation may leave the leading 1 anywhere: move it to bit 62, then keep the top word.
    let shiftDist = i32(s_countLeadingZeros64(sig64Z)) - 1;
    expZ -= shiftDist;
    if (shiftDist < 32) {
      sigZ = s_shiftRightJam64(sig64Z, u32(32 - shiftDist)).lo;
    } else {
      sigZ = sig64Z.lo << u32(shiftDist - 32);
    }
  }
  return s_roundPackToF32(signZ, expZ, sigZ, subnormals);
}
