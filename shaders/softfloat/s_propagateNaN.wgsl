// Twin of src/softfloat/s_propagateNaN.ts.

// The specialisation's NaN rule: the first NaN operand, quieted. At least one operand is a NaN.
fn s_propagateNaN(uiA: u32, uiB: u32) -> u32 {
  return select(uiB, uiA, isNaNF32UI(uiA)) | F32_QUIET_BIT;
}
