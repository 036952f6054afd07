// Twin of src/softfloat/s_normRoundPackToF32.ts.

// s_roundPackToF32 for a significand whose leading 1 is anywhere below bit 31 (sig != 0).
fn s_normRoundPackToF32(sign: u32, exp: i32, sig: u32, subnormals: u32) -> u32 {
  let shiftDist = countLeadingZeros(sig) - 1u;
  return s_roundPackToF32(sign, exp - i32(shiftDist), sig << shiftDist, subnormals);
}
