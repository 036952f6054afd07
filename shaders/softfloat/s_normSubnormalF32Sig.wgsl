// Twin of src/softfloat/s_normSubnormalF32Sig.ts.

// Moves a subnormal's leading 1 to bit 23 and returns the exponent that keeps the value.
fn s_normSubnormalF32Sig(sig: u32) -> ExpSig32 {
  let shiftDist = countLeadingZeros(sig) - 8u;
  return ExpSig32(1 - i32(shiftDist), sig << shiftDist);
}
