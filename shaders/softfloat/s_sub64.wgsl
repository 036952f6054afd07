// Twin of src/softfloat/s_sub64.ts.

// a - b modulo 2^64.
fn s_sub64(a: U64, b: U64) -> U64 {
  let lo = a.lo - b.lo;
  let borrow = select(0u, 1u, a.lo < b.lo);
  return U64(a.hi - b.hi - borrow, lo);
}
