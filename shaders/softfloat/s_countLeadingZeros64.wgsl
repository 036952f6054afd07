// Twin of src/softfloat/s_countLeadingZeros64.ts.

fn s_countLeadingZeros64(a: U64) -> u32 {
  if (a.hi != 0u) { return countLeadingZeros(a.hi); }
  return 32u + countLeadingZeros(a.lo);
}
