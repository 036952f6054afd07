// Twin of src/softfloat/s_shortShiftLeft64.ts.

// a << dist for dist in [1, 31].
fn s_shortShiftLeft64(a: U64, dist: u32) -> U64 {
  return U64((a.hi << dist) | (a.lo >> (32u - dist)), a.lo << dist);
}
