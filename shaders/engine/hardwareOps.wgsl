// Twin of src/engines/cpu/hardwareOps.ts: the contract's hardware-op slots. 'ieee' and
// 'inferred' compute the correctly rounded value in the contract's arithmetic; 'sm90' and
// 'sm90-div-full' are sm_90's measured instructions (shaders/numerics/hardware), in their .ftz
// form when the contract flushes f32 subnormals. The module gets `sm90Tables` from pipeline.ts
// (sm90TablesDeclaration): the device's table buffer (src/engines/webgpu/hardwareTables.ts)
// where a slot is sm_90's, else a private word these functions never read (every slot flag is
// 0 then), so a stage binds no more storage buffers than its own (compatibility mode
// guarantees 4 a stage, which sumOfSquares already uses).

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
