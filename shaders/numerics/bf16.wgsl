// Twin of src/numerics/bf16.ts (bf16FromF32Bits, f32BitsFromBf16, roundF32BitsToBf16).
// rounding: BF16_ROUNDING_RNE or BF16_ROUNDING_TRUNCATE (generated from src/softfloat/wgslCodes.ts);
// any other code returns WGSL_INVALID_ARGUMENT.

// f32 bits -> bf16 bits. NaN first: it stays NaN with its sign, quieted (bit 0x0040), so that
// truncating a low-payload NaN cannot make Inf.
fn bf16FromF32Bits(bits: u32, rounding: u32) -> u32 {
  if (rounding >= BF16_ROUNDING_COUNT) { return WGSL_INVALID_ARGUMENT; }
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return ((bits >> 16u) | 0x0040u) & 0xffffu; }
  if (rounding == BF16_ROUNDING_TRUNCATE) { return bits >> 16u; }
  let lsb = (bits >> 16u) & 1u;
  return ((bits + 0x7fffu + lsb) >> 16u) & 0xffffu;
}

fn f32BitsFromBf16(bits: u32) -> u32 {
  return bits << 16u;
}

// Rounds f32 bits to the nearest bf16 and returns the result as f32 bits (a round trip).
fn roundF32BitsToBf16(bits: u32, rounding: u32) -> u32 {
  if (rounding >= BF16_ROUNDING_COUNT) { return WGSL_INVALID_ARGUMENT; }
  return f32BitsFromBf16(bf16FromF32Bits(bits, rounding));
}
