// Twin of src/softfloat/s_add64.ts.

// a + b modulo 2^64.
fn s_add64(a: U64, b: U64) -> U64 {
  let lo = a.lo + b.lo;
  let carry = select(0u, 1u, lo < a.lo);
  return U64(a.hi + b.hi + carry, lo);
}
