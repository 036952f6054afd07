// Twin of src/softfloat/s_shiftRightJam64.ts.

// a >> dist on a 64-bit value, OR-ing every bit shifted out into bit 0, for any dist.
fn s_shiftRightJam64(a: U64, dist: u32) -> U64 {
  if (dist == 0u) { return a; }
  if (dist < 32u) {
    let sticky = select(0u, 1u, (a.lo << (32u - dist)) != 0u);
    return U64(a.hi >> dist, (a.hi << (32u - dist)) | (a.lo >> dist) | sticky);
  }
  if (dist < 64u) { return U64(0u, s_shiftRightJam32(a.hi, dist - 32u) | select(0u, 1u, a.lo != 0u)); }
  return U64(0u, select(0u, 1u, (a.hi | a.lo) != 0u));
}
