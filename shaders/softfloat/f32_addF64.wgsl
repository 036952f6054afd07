// Twin of src/softfloat/f32_addF64.ts.

// An f32 plus an f64, added in f64 and converted back: fround32(fround64(a + b)), both roundings
// to nearest even, as aiter add_rmsnorm_quant adds its double epsilon to the f32 variance
// (ROCm/aiter@e4048607 csrc/kernels/rmsnorm_quant_kernels.cu:150; clang: v_cvt_f64_f32,
// v_add_f64, v_cvt_f32_f64). The domain is what that line sees: a >= 0 (or NaN, or +Inf) and b
// a positive finite double; anything else gives the default NaN. Subnormals flush on the f32
// ends only (the operand a and the f32 result), as AMD's f32 denormal mode does.

// A magnitude as sig * 2^(exp - 1085) with sig's leading 1 at bit 62: the f64 significand's 53
// bits are bits 62..10, the 10 bits below it are round and sticky bits.
struct Wide {
  exp: i32,
  sig: U64,
}

// A nonzero significand worth sig * 2^(exp - 1075), as a Wide: its top bit moved to bit 62.
fn normalised(exp: i32, sig: U64) -> Wide {
  let dist = s_countLeadingZeros64(sig) - 1u;
  return Wide(exp + 10 - i32(dist), s_shiftLeft64(sig, dist));
}

fn f32_addF64(inA: u32, bHi: u32, bLo: u32, subnormals: u32) -> u32 {
  let uiA = operandF32UI(inA, subnormals);
  if (isNaNF32UI(uiA)) { return uiA | F32_QUIET_BIT; }
  let expB = i32((bHi >> 20u) & 0x7ffu);
  let bZero = expB == 0 && ((bHi & 0x000fffffu) | bLo) == 0u;
  let bOutside = (bHi >> 31u) != 0u || expB == 0x7ff || bZero;
  if (bOutside || (signF32UI(uiA) != 0u && (uiA & 0x7fffffffu) != 0u)) { return DEFAULT_NAN_F32UI; }
  let expA = expF32UI(uiA);
  if (expA == 0xff) { return uiA; }
  // b in the wide frame: an f64 significand has its implicit 1 at bit 52, value sig * 2^(exp - 1075).
  let fracB = U64((bHi & 0x000fffffu) | select(0u, 0x00100000u, expB != 0), bLo);
  var sum = normalised(max(expB, 1), fracB);
  if ((uiA & 0x7fffffffu) != 0u) {
    // a: an f32 significand has its implicit 1 at bit 23, value sig * 2^(exp - 150) = sig * 2^(exp + 925 - 1075).
    let a = normalised(max(expA, 1) + 925, U64(0u, fracF32UI(uiA) | select(0u, 0x00800000u, expA != 0)));
    var big = sum;
    var small = a;
    if (a.exp >= sum.exp) { big = a; small = sum; }
    var exp = big.exp;
    var sig = s_add64(big.sig, s_shiftRightJam64(small.sig, u32(big.exp - small.exp)));
    if ((sig.hi >> 31u) != 0u) {
      sig = s_shiftRightJam64(sig, 1u);
      exp += 1;
    }
    // Round to the f64's 53 bits, to nearest even (a nonzero a keeps the sum in the normal range).
    let roundBits = sig.lo & 0x3ffu;
    sig = s_add64(sig, U64(0u, 0x200u));
    sig = U64(sig.hi, sig.lo & select(~0x3ffu, ~0x7ffu, roundBits == 0x200u));
    if ((sig.hi >> 31u) != 0u) {
      sig = s_shiftRightJam64(sig, 1u);
      exp += 1;
    }
    sum = Wide(exp, sig);
  }
  // To f32: the top 31 bits with a sticky bit, leading 1 at bit 30, value s * 2^(exp - 1053).
  return s_roundPackToF32(0u, sum.exp - 897, s_shiftRightJam64(sum.sig, 32u).lo, subnormals);
}
