// Twin of src/softfloat/s_mul32To64.ts.

// The full 64-bit product of two u32, from four 16x16 -> 32 partial products. Neither running
// sum can pass 2^32: each partial product is at most (2^16 - 1)^2 = 2^32 - 2^17 + 1, and each
// sum adds less than 2^16 to one.
fn s_mul32To64(a: u32, b: u32) -> U64 {
  let aLo = a & 0xffffu;
  let aHi = a >> 16u;
  let bLo = b & 0xffffu;
  let bHi = b >> 16u;
  let lowLow = aLo * bLo;
  let lowHigh = aLo * bHi;
  let highLow = aHi * bLo;
  let highHigh = aHi * bHi;
  let middle = lowHigh + (lowLow >> 16u);
  let middle2 = highLow + (middle & 0xffffu);
  return U64(highHigh + (middle >> 16u) + (middle2 >> 16u), (middle2 << 16u) | (lowLow & 0xffffu));
}
