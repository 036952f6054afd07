// Twin of src/softfloat/f32_divByReciprocal.ts.

// f32 division by a divisor shared by many dividends (a quant group's scale), in f32_div's bits
// on one straight path: the divisor's significand reciprocal is made once
// (f32_divisorReciprocal), then each quotient costs one 32 x 32 -> 64 multiply and two
// conditional corrections instead of f32_div's 31 one-bit steps. Zeros, Inf and NaN are chosen
// last, as f32_div returns them, so neither a GPU wave nor a CPU adapter (which runs every
// branch under a mask) runs a second path.

// The significand with its leading 1 at bit 23 and the exponent that keeps the value, for a
// normal or subnormal operand alike (s_normSubnormalF32Sig's shift, or 0 and the hidden bit).
fn normF32Sig(ui: u32) -> ExpSig32 {
  let exp = expF32UI(ui);
  let shiftDist = select(0u, countLeadingZeros(fracF32UI(ui)) - 8u, exp == 0);
  return ExpSig32(select(exp, 1 - i32(shiftDist), exp == 0), (fracF32UI(ui) | select(0u, 0x00800000u, exp != 0)) << (shiftDist & 31u));
}

// floor(2^54 / sigB), sigB the divisor's normalised significand ([2^23, 2^24)), so in
// (2^30, 2^31]: restoring division of 2^23 * 2^31, the remainder below 2 * sigB < 2^25. For a
// zero, Inf or NaN divisor the value is never used (f32_divByReciprocal chooses the special).
fn f32_divisorReciprocal(inB: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let sigB = normF32Sig(operandF32UI(inB, subnormals)).sig;
  var rem = 0x00800000u;
  var reciprocal = 0u;
  for (var i = 0; i < 32; i++) {
    let fits = rem >= sigB;
    reciprocal = (reciprocal << 1u) | select(0u, 1u, fits);
    rem = select(rem, rem - sigB, fits) << 1u;
  }
  return reciprocal;
}

// f32_div(a, b) given reciprocal = f32_divisorReciprocal(b). It forms f32_div's quotient
// sigZ = floor(sigA * 2^30 / sigB) (sigA scaled into [sigB, 2 * sigB)) and its sticky bit from the
// reciprocal: with reciprocal = 2^54 / sigB - d (0 <= d < 1) and sigA < 2^25,
// floor(sigA * reciprocal / 2^24) is sigZ, sigZ - 1 or sigZ - 2, so the remainder
// sigA * 2^30 - estimate * sigB lies in [0, 3 * sigB) and is exact modulo 2^32; two conditional
// subtractions of sigB leave sigZ and the true remainder, and the same s_roundPackToF32 call as
// f32_div's rounds them.
fn f32_divByReciprocal(inA: u32, inB: u32, reciprocal: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let uiB = operandF32UI(inB, subnormals);
  let signZ = signF32UI(uiA) ^ signF32UI(uiB);
  let normA = normF32Sig(uiA);
  let normB = normF32Sig(uiB);
  let scaleUp = normA.sig < normB.sig;
  let expZ = normA.exp - normB.exp + 0x7e - select(0, 1, scaleUp);
  let sigA = normA.sig << select(0u, 1u, scaleUp);
  let sigB = normB.sig;
  let product = s_mul32To64(sigA, reciprocal);
  let estimate = (product.hi << 8u) | (product.lo >> 24u);
  let rem0 = (sigA << 30u) - estimate * sigB;
  let rem1 = select(rem0, rem0 - sigB, rem0 >= sigB);
  let rem2 = select(rem1, rem1 - sigB, rem1 >= sigB);
  let sigZ = estimate + select(0u, 1u, rem0 >= sigB) + select(0u, 1u, rem1 >= sigB);
  let quotient = s_roundPackToF32(signZ, expZ, sigZ | select(0u, 1u, rem2 != 0u), subnormals);
  // f32_div's specials: NaN first, then Inf / Inf and 0 / 0, then Inf or x / 0, then 0 or x / Inf.
  let infA = (uiA & 0x7fffffffu) == 0x7f800000u;
  let infB = (uiB & 0x7fffffffu) == 0x7f800000u;
  let zeroA = (uiA & 0x7fffffffu) == 0u;
  let zeroB = (uiB & 0x7fffffffu) == 0u;
  let special = select(select(select(packToF32UI(signZ, 0, 0u), packToF32UI(signZ, 0xff, 0u), infA || zeroB),
                              DEFAULT_NAN_F32UI, (infA && infB) || (zeroA && zeroB)),
                       s_propagateNaN(uiA, uiB), isNaNF32UI(uiA) || isNaNF32UI(uiB));
  return select(quotient, special, expF32UI(uiA) == 0xff || expF32UI(uiB) == 0xff || zeroA || zeroB);
}

// f32_div(a, b) by way of the divisor's reciprocal: the pair above as one binary op, which the
// conformance suites and tests run beside f32_div.
fn f32_divViaReciprocal(inA: u32, inB: u32, subnormals: u32) -> u32 {
  return f32_divByReciprocal(inA, inB, f32_divisorReciprocal(inB, subnormals), subnormals);
}
