// Twin of src/softfloat/f32_sub.ts.

// f32 subtraction on bit patterns, round to nearest even.
fn f32_sub(uiA: u32, uiB: u32) -> u32 {
  if (signF32UI(uiA) == signF32UI(uiB)) { return s_subMagsF32(uiA, uiB); }
  return s_addMagsF32(uiA, uiB);
}
