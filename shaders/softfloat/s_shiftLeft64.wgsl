// Twin of src/softfloat/s_shiftLeft64.ts.

// a << dist for dist in [0, 63] (bits shifted past bit 63 are lost).
fn s_shiftLeft64(a: U64, dist: u32) -> U64 {
  if (dist == 0u) { return a; }
  if (dist < 32u) { return U64((a.hi << dist) | (a.lo >> (32u - dist)), a.lo << dist); }
  return U64(a.lo << (dist - 32u), 0u);
}
