// Twin of src/numerics/hardware/sm90.ts: sm_90's rsqrt.approx.f32 and rcp.approx.f32 (and
// their .ftz forms) from the tables measured on an H200, over one period of the input. The
// module that includes this file declares the table buffer:
//   var<storage, read> sm90Tables: array<u32>;
// holding fillSm90Tables' words (rsqrt's period, then rcp's; src/engines/webgpu/hardwareTables.ts
// uploads it once per device). Integers only, as the soft-float.

const SM90_RSQRT_PERIOD: u32 = 1u << 24u;
const SM90_SIGN: u32 = 0x80000000u;
const SM90_MIN_NORMAL: u32 = 0x00800000u;
const SM90_POS_INF: u32 = 0x7f800000u;
const SM90_NAN_OUT: u32 = 0x7fffffffu; // what the hardware returns for NaN results (measured)

// The rsqrt period table at `index` (mantissa, then exponent parity at bit 23).
fn sm90RsqrtTable(index: u32) -> u32 {
  return sm90Tables[index];
}

// The rcp period table at `index` (mantissa): after the rsqrt period.
fn sm90RcpTable(index: u32) -> u32 {
  return sm90Tables[SM90_RSQRT_PERIOD + index];
}

// A finite nonzero magnitude as its normalized fraction (23 bits, implicit one dropped) and unbiased exponent.
struct Sm90Normalized {
  frac: u32,
  exp: i32,
}

fn sm90Normalize(mag: u32) -> Sm90Normalized {
  let biased = mag >> 23u;
  if (biased != 0u) { return Sm90Normalized(mag & 0x7fffffu, i32(biased) - 127); }
  let lz = countLeadingZeros(mag) - 8u; // mag < 2^23
  return Sm90Normalized((mag << lz) & 0x7fffffu, -126 - i32(lz));
}

fn sm90Rsqrt(bits: u32, ftz: bool) -> u32 {
  let sign = bits & SM90_SIGN;
  let mag = bits & 0x7fffffffu;
  if (isNaNF32UI(bits)) { return SM90_NAN_OUT; }
  if (mag == 0u || (ftz && mag < SM90_MIN_NORMAL)) { return sign | SM90_POS_INF; }
  if (sign != 0u) { return SM90_NAN_OUT; }
  if (mag == SM90_POS_INF) { return 0u; }
  let n = sm90Normalize(mag);
  // x = m * 2^(2k + parity): the table holds m * 2^parity in [1, 4), the result scales by 2^-k.
  let k = n.exp >> 1u;
  let t = sm90RsqrtTable(n.frac | (u32(n.exp & 1) << 23u));
  return t - u32(k << 23u); // T in (0.5, 1]: the scaled result is always a normal f32
}

fn sm90Rcp(bits: u32, ftz: bool) -> u32 {
  let sign = bits & SM90_SIGN;
  let mag = bits & 0x7fffffffu;
  if (isNaNF32UI(bits)) { return SM90_NAN_OUT; }
  if (mag == 0u || (ftz && mag < SM90_MIN_NORMAL)) { return sign | SM90_POS_INF; }
  if (mag == SM90_POS_INF) { return sign; }
  let n = sm90Normalize(mag);
  let t = sm90RcpTable(n.frac);
  // The result's exponent field: T's (126 or 127) less x's exponent (at most 127), so >= -1.
  let yExp = i32(t >> 23u) - n.exp;
  if (yExp >= 255) { return sign | SM90_POS_INF; }
  if (yExp >= 1) { return sign | (u32(yExp) << 23u) | (t & 0x7fffffu); }
  if (ftz) { return sign; }
  return sign | sm90SubnormalNearestEven((t & 0x7fffffu) | 0x800000u, u32(1 - yExp));
}

// sig (24 bits) shifted right by `shift` (1 or 2: the exponent field would be 0 or -1) onto
// the subnormal grid, nearest-even.
fn sm90SubnormalNearestEven(sig: u32, shift: u32) -> u32 {
  let q = sig >> shift;
  let rem = sig & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  return select(q, q + 1u, rem > half || (rem == half && (q & 1u) == 1u));
}

// sm_90 `rsqrt.approx.f32` (MUFU.RSQ with the compiler's subnormal range reduction).
fn sm90RsqrtApprox(bits: u32) -> u32 {
  return sm90Rsqrt(bits, false);
}

// sm_90 `rsqrt.approx.ftz.f32`: subnormal inputs read as zero.
fn sm90RsqrtApproxFtz(bits: u32) -> u32 {
  return sm90Rsqrt(bits, true);
}

// sm_90 `rcp.approx.f32`.
fn sm90RcpApprox(bits: u32) -> u32 {
  return sm90Rcp(bits, false);
}

// sm_90 `rcp.approx.ftz.f32`: subnormal inputs read as zero, subnormal results flushed.
fn sm90RcpApproxFtz(bits: u32) -> u32 {
  return sm90Rcp(bits, true);
}
