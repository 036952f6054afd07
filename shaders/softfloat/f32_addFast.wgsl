// Twin of src/softfloat/f32_addFast.ts.

// f32_add's bits on one straight path for every pair of operands, so that a GPU wave whose lanes
// differ in sign runs one path instead of both s_addMagsF32 and s_subMagsF32, and a CPU adapter
// (which runs every branch under a mask) runs no fallback: the all-reduce's adds. The larger
// magnitude X keeps its hidden bit at 30 (7 bits below the result's last bit; a subnormal has
// exponent 1 and no hidden bit, as in s_addMagsF32); Y is shifted right by the exponent
// difference with a sticky bit; X + Y or X - Y is then exact up to that sticky bit (a shift of 1
// drops only Y's zero low bits; at 2 or more the difference keeps its leading 1 at bit 29 or 30),
// so s_roundPackToF32 rounds it correctly, as f32_add does. Zero sums, Inf and NaN are chosen
// last, as s_addMagsF32 and s_subMagsF32 return them.
fn f32_addFast(inA: u32, inB: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let uiB = operandF32UI(inB, subnormals);
  let swap = (uiB & 0x7fffffffu) > (uiA & 0x7fffffffu);
  let uiX = select(uiA, uiB, swap);
  let uiY = select(uiB, uiA, swap);
  let expX = expF32UI(uiX);
  let expY = expF32UI(uiY);
  let sigX = (fracF32UI(uiX) | select(0u, 0x00800000u, expX != 0)) << 7u;
  let sigY = s_shiftRightJam32((fracF32UI(uiY) | select(0u, 0x00800000u, expY != 0)) << 7u, u32(max(expX, 1) - max(expY, 1)));
  let sameSign = signF32UI(uiA) == signF32UI(uiB);
  let sum = select(sigX - sigY, sigX + sigY, sameSign);
  // Leading 1 to bit 30: a carry into bit 31 moves down one place (its bit 0 kept as sticky), a cancellation up.
  let leadingZeros = countLeadingZeros(sum);
  let carry = leadingZeros == 0u;
  let sigZ = select(sum << ((leadingZeros - 1u) & 31u), (sum >> 1u) | (sum & 1u), carry);
  let expZ = max(expX, 1) - 1 + select(1 - i32(leadingZeros), 1, carry);
  let rounded = s_roundPackToF32(signF32UI(uiX), expZ, sigZ, subnormals);
  // X is Inf or NaN when either operand is; a zero sum is +0 (rounding to nearest) unless both are zeros of one sign.
  let nonFinite = select(select(uiX, DEFAULT_NAN_F32UI, expY == 0xff && !sameSign), s_propagateNaN(uiA, uiB), isNaNF32UI(uiA) || isNaNF32UI(uiB));
  let zero = select(0u, uiA, sameSign);
  return select(select(rounded, zero, sum == 0u), nonFinite, expX == 0xff);
}
