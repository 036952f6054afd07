// Twin of src/numerics/fp8.ts (fp8FromF32Bits, f32BitsFromFp8), in integers only.
// format: FP8_FORMAT_* and saturation: FP8_SATURATION_* (generated, with fp8Traits(), from
// FP8_TRAITS by src/softfloat/wgslSource.ts); any other code returns WGSL_INVALID_ARGUMENT.

fn fp8OverflowCode(t: Fp8Traits, sign: u32, saturation: u32) -> u32 {
  if (saturation == FP8_SATURATION_SATFINITE) { return sign | t.maxFiniteCode; }
  if (t.fnuz) { return t.nanCode; }
  if (t.hasInfinity) { return sign | (t.maxFiniteCode + 1u); }
  return sign | t.nanCode;
}

// f32 bits -> fp8 code, round to nearest even. Steps: non-finite, zero, unpack and
// normalise, round at the target quantum, pack and handle overflow, apply sign.
fn fp8FromF32Bits(bits: u32, format: u32, saturation: u32) -> u32 {
  if (format >= FP8_FORMAT_COUNT || saturation >= FP8_SATURATION_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let t = fp8Traits(format);
  let sign = (bits >> 24u) & 0x80u;
  let magnitudeBits = bits & 0x7fffffffu;

  // 1. Non-finite.
  if (magnitudeBits > 0x7f800000u) { return select(sign | t.nanCode, t.nanCode, t.fnuz); }
  if (magnitudeBits == 0x7f800000u) { return fp8OverflowCode(t, sign, saturation); }

  // 2. Zero (fnuz has no -0).
  if (magnitudeBits == 0u) { return select(sign, 0u, t.fnuz); }

  // 3. Unpack: value = significand * 2^(exponent - 23), significand normalised to [2^23, 2^24).
  let exponentField = magnitudeBits >> 23u;
  var significand = magnitudeBits & 0x7fffffu;
  var exponent: i32;
  if (exponentField == 0u) {
    let shift = countLeadingZeros(significand) - 8u;
    significand <<= shift;
    exponent = -126 - i32(shift);
  } else {
    significand |= 0x800000u;
    exponent = i32(exponentField) - 127;
  }

  // 4. Round at the quantum of the target binade (fixed at the subnormal quantum below min normal).
  let minNormalExponent = 1 - t.bias;
  let quantumExponent = max(exponent, minNormalExponent) - i32(t.mantissaBits);
  let shift = u32(23 + quantumExponent - exponent);
  // shift >= 23 - mantissaBits; past 25 the value is under a quarter quantum.
  var quanta = 0u;
  if (shift <= 25u) {
    let kept = significand >> shift;
    let remainder = significand & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    quanta = select(kept, kept + 1u, remainder > half || (remainder == half && (kept & 1u) == 1u));
  }

  // 5. Pack: quanta counts steps of 2^quantumExponent; a carry past 2^(m+1) moves up a binade.
  let hidden = 1u << t.mantissaBits;
  var code: u32;
  if (quanta < hidden) {
    code = quanta; // subnormal or zero
  } else {
    var q = quanta;
    var e = quantumExponent;
    if (q >= (hidden << 1u)) {
      q >>= 1u;
      e += 1;
    }
    code = (u32(e + i32(t.mantissaBits) + t.bias) << t.mantissaBits) | (q - hidden);
  }
  if (code > t.maxFiniteCode) { return fp8OverflowCode(t, sign, saturation); }

  // 6. Sign.
  if (code == 0u) { return select(sign, 0u, t.fnuz); }
  return sign | code;
}

fn f32BitsFromFp8(code: u32, format: u32) -> u32 {
  if (format >= FP8_FORMAT_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let t = fp8Traits(format);
  let negative = (code & 0x80u) != 0u;
  let magnitude = code & 0x7fu;
  if (t.fnuz) {
    if (code == 0x80u) { return 0xffc00000u; }
  } else {
    if (magnitude == t.nanCode || (t.hasInfinity && magnitude > t.maxFiniteCode + 1u)) {
      return select(0x7fc00000u, 0xffc00000u, negative);
    }
    if (t.hasInfinity && magnitude == t.maxFiniteCode + 1u) { return select(0x7f800000u, 0xff800000u, negative); }
  }
  let sign = select(0u, 0x80000000u, negative);
  if (magnitude == 0u) { return sign; }
  let exponentField = magnitude >> t.mantissaBits;
  var mantissa = magnitude & ((1u << t.mantissaBits) - 1u);
  var exponent: i32;
  if (exponentField == 0u) {
    // Subnormal: normalise into an f32 normal (every fp8 subnormal is an f32 normal).
    let lead = 31u - countLeadingZeros(mantissa);
    exponent = 1 - t.bias - i32(t.mantissaBits - lead);
    mantissa = (mantissa ^ (1u << lead)) << (t.mantissaBits - lead);
  } else {
    exponent = i32(exponentField) - t.bias;
  }
  return sign | (u32(exponent + 127) << 23u) | (mantissa << (23u - t.mantissaBits));
}
