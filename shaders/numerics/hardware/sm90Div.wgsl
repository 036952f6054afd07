// Twin of src/numerics/hardware/sm90Div.ts: sm_90's div.full.f32 and div.full.ftz.f32, step by
// step as ptxas 13.0 compiles them (the sequence is quoted there and in gpu/MEASUREMENTS.md),
// on the soft-float's f32_mul and sm90.wgsl's rcp.approx.ftz.

const SM90_TWO_POW_MINUS_2: u32 = 0x3e800000u; // 0.25
const SM90_TWO_POW_24: u32 = 0x4b800000u; // 16777216
const SM90_TWO_POW_126: u32 = 0x7e800000u; // |b| > this: scale both operands by 1/4
const SM90_TWO_POW_MINUS_102: u32 = 0x0c800000u; // 2^-126 * 2^24
const SM90_DIV_MIN_NORMAL: u32 = 0x00800000u;
const SM90_DIV_SIGN: u32 = 0x80000000u;

// FTZ's operand rule: a subnormal reads as a zero of its sign.
fn sm90FlushSubnormal(x: u32) -> u32 {
  return select(x, x & SM90_DIV_SIGN, (x & 0x7fffffffu) < SM90_DIV_MIN_NORMAL);
}

// FMUL.FTZ: the product rounded to 24 bits at an unbounded exponent, flushed below 2^-126
// (sm90Div.ts says why the soft-float's product is recomputed 2^24 times larger at 2^-126).
fn sm90MulFtz(a: u32, b: u32) -> u32 {
  let fa = sm90FlushSubnormal(a);
  let fb = sm90FlushSubnormal(b);
  let product = f32_mul(fa, fb, F32_SUBNORMALS_KEEP);
  let mag = product & 0x7fffffffu;
  if (mag > SM90_DIV_MIN_NORMAL) { return product; }
  if (mag < SM90_DIV_MIN_NORMAL) { return product & SM90_DIV_SIGN; }
  let aSmaller = (fa & 0x7fffffffu) < (fb & 0x7fffffffu);
  let scaled = f32_mul(select(fb, fa, aSmaller), SM90_TWO_POW_24, F32_SUBNORMALS_KEEP);
  let onGrid = f32_mul(scaled, select(fa, fb, aSmaller), F32_SUBNORMALS_KEEP);
  return select(product & SM90_DIV_SIGN, product, (onGrid & 0x7fffffffu) >= SM90_TWO_POW_MINUS_102);
}

fn sm90DivFullBits(a: u32, b: u32) -> u32 {
  let magB = b & 0x7fffffffu;
  let big = !isNaNF32UI(b) && magB > SM90_TWO_POW_126;
  var bScaled = select(b, f32_mul(b, SM90_TWO_POW_MINUS_2, F32_SUBNORMALS_KEEP), big);
  var aScaled = select(a, f32_mul(a, SM90_TWO_POW_MINUS_2, F32_SUBNORMALS_KEEP), big);
  let small = !isNaNF32UI(b) && magB < SM90_DIV_MIN_NORMAL;
  if (small) {
    bScaled = f32_mul(bScaled, SM90_TWO_POW_24, F32_SUBNORMALS_KEEP);
    aScaled = f32_mul(aScaled, SM90_TWO_POW_24, F32_SUBNORMALS_KEEP);
  }
  return f32_mul(aScaled, sm90RcpApproxFtz(bScaled), F32_SUBNORMALS_KEEP);
}

fn sm90DivFullFtzBits(a: u32, b: u32) -> u32 {
  let fb = sm90FlushSubnormal(b);
  let big = !isNaNF32UI(fb) && (fb & 0x7fffffffu) > SM90_TWO_POW_126;
  let bScaled = select(b, sm90MulFtz(b, SM90_TWO_POW_MINUS_2), big);
  let aScaled = select(a, sm90MulFtz(a, SM90_TWO_POW_MINUS_2), big);
  return sm90MulFtz(sm90RcpApproxFtz(bScaled), aScaled);
}

// sm_90 div.full.f32: a / b with at most 2 ULP of error over the full range (PTX ISA).
fn sm90DivFull(aBits: u32, bBits: u32) -> u32 {
  return sm90DivFullBits(aBits, bBits);
}

// sm_90 div.full.ftz.f32.
fn sm90DivFullFtz(aBits: u32, bBits: u32) -> u32 {
  return sm90DivFullFtzBits(aBits, bBits);
}
