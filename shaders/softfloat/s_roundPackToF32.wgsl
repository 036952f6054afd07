// Twin of src/softfloat/s_roundPackToF32.ts.

// The one place that rounds (to nearest, ties to even). sig holds the significand with its
// leading 1 at bit 30 and 7 bits below the result's last bit (round bit 6, sticky below);
// the value is sig * 2^(exp - 156), so a normal result gets exponent field exp + 1. With
// subnormals F32_SUBNORMALS_FLUSH, a result that is subnormal after rounding becomes a zero of
// its sign (one that rounds up to the smallest normal stays: tininess after rounding).
fn s_roundPackToF32(sign: u32, exp: i32, sig: u32, subnormals: u32) -> u32 {
  var e = exp;
  var s = sig;
  if (e < 0) {
    // Below the normal range the quantum is fixed: denormalise, keeping a sticky bit.
    s = s_shiftRightJam32(s, u32(-e));
    e = 0;
  } else if (e > 0xfd) {
    // At e = 0xfd a carry out of the significand packs to exactly Inf, so only this overflows.
    return packToF32UI(sign, 0xff, 0u);
  }
  let roundBits = s & 0x7fu;
  s = (s + 0x40u) >> 7u;
  if (roundBits == 0x40u) { s = s & ~1u; }
  if (subnormals == F32_SUBNORMALS_FLUSH && e == 0 && s < 0x00800000u) { return packToF32UI(sign, 0, 0u); }
  return packToF32UI(sign, e, s);
}
