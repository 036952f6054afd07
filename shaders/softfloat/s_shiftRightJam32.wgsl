// Twin of src/softfloat/s_shiftRightJam32.ts.

// a >> dist, OR-ing every bit shifted out into bit 0 (the sticky bit), for any dist.
fn s_shiftRightJam32(a: u32, dist: u32) -> u32 {
  if (dist == 0u) { return a; }
  if (dist < 32u) { return (a >> dist) | select(0u, 1u, (a << (32u - dist)) != 0u); }
  return select(0u, 1u, a != 0u);
}
