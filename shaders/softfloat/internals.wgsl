// Twin of src/softfloat/internals.ts: field access on f32 bit patterns (u32; never bitcast to
// f32, which may flush subnormals) and the small value types the helpers pass around.

// An unsigned 64-bit integer as two u32 halves: WGSL has no 64-bit integer.
struct U64 {
  hi: u32,
  lo: u32,
}

// A normalised significand (leading 1 at bit 23) and its biased exponent, which may be <= 0.
struct ExpSig32 {
  exp: i32,
  sig: u32,
}

fn signF32UI(a: u32) -> u32 {
  return a >> 31u;
}

fn expF32UI(a: u32) -> i32 {
  return i32((a >> 23u) & 0xffu);
}

fn fracF32UI(a: u32) -> u32 {
  return a & 0x007fffffu;
}

fn isNaNF32UI(a: u32) -> bool {
  return (a & 0x7fffffffu) > 0x7f800000u;
}

// An operand as the arithmetic reads it: a subnormal is a zero of its sign when subnormals
// flush. subnormals: F32_SUBNORMALS_KEEP or F32_SUBNORMALS_FLUSH (generated from F32_SUBNORMALS).
fn operandF32UI(a: u32, subnormals: u32) -> u32 {
  if (subnormals == F32_SUBNORMALS_FLUSH && expF32UI(a) == 0) { return a & 0x80000000u; }
  return a;
}

// Adds rather than ORs the fields, so a significand that carried into 2^24 bumps the exponent.
fn packToF32UI(sign: u32, exp: i32, sig: u32) -> u32 {
  return (sign << 31u) + (u32(exp) << 23u) + sig;
}
