// Twin of src/softfloat/f32_sub.ts.

// f32 subtraction on bit patterns, round to nearest even.
fn f32_sub(inA: u32, inB: u32, subnormals: u32) -> u32 {
  if (subnormals >= F32_SUBNORMALS_COUNT) { return WGSL_INVALID_ARGUMENT; }
  let uiA = operandF32UI(inA, subnormals);
  let uiB = operandF32UI(inB, subnormals);
  if (signF32UI(uiA) == signF32UI(uiB)) { return s_subMagsF32(uiA, uiB, subnormals); }
  return s_addMagsF32(uiA, uiB, subnormals);
}
