// Twin of src/engines/cpu/hardwareOps.ts: the contract's hardware-op slots. 'ieee' and
// 'inferred' compute the correctly rounded value in the contract's arithmetic; 'sm90' and
// 'sm90-div-full' are sm_90's measured instructions (shaders/numerics/hardware), in their .ftz
// form when the contract flushes f32 subnormals. The stages that call these bind the device's
// sm_90 tables here (src/engines/webgpu/hardwareTables.ts; a placeholder word when no slot is sm_90's).

@group(0) @binding(SM90_TABLES_BINDING) var<storage, read> sm90Tables: array<u32>;

// rstd from the variance + eps: fround(1 / fround(sqrt(v))), or rsqrt.approx.
fn rsqrtSlot(v: u32) -> u32 {
  if (params.rsqrtSm90 != 0u) {
    if (ENGINE_F32_SUBNORMALS == F32_SUBNORMALS_FLUSH) { return sm90RsqrtApproxFtz(v); }
    return sm90RsqrtApprox(v);
  }
  return f32_div(ONE_F32, f32_sqrt(v, ENGINE_F32_SUBNORMALS), ENGINE_F32_SUBNORMALS);
}

// 1 / x, or rcp.approx.
fn reciprocalSlot(x: u32) -> u32 {
  if (params.reciprocalSm90 != 0u) {
    if (ENGINE_F32_SUBNORMALS == F32_SUBNORMALS_FLUSH) { return sm90RcpApproxFtz(x); }
    return sm90RcpApprox(x);
  }
  return f32_div(ONE_F32, x, ENGINE_F32_SUBNORMALS);
}

// a / b, or div.full.
fn divideSlot(a: u32, b: u32) -> u32 {
  if (params.divideSm90 != 0u) {
    if (ENGINE_F32_SUBNORMALS == F32_SUBNORMALS_FLUSH) { return sm90DivFullFtz(a, b); }
    return sm90DivFull(a, b);
  }
  return f32_div(a, b, ENGINE_F32_SUBNORMALS);
}
