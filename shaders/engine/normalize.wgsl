// Twin of src/engines/cpu/normalize.ts (the weight multiply) and context.ts effectiveWeight. One
// invocation per four elements of the chunk; x is overwritten with the f32 normed value, which
// the quant stage reads.

@group(0) @binding(1) var<storage, read> weight: array<u32>;
@group(0) @binding(2) var<storage, read> rstd: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<u32>;
@group(0) @binding(4) var<storage, read_write> normOut: array<u32>;

// The weight as f32 bits, after the contract's dtype and cast rules: torch's .to(bfloat16) is
// round-to-nearest-even, whatever the kernel's own downcast does. The buffer holds the tensor's
// bytes: bf16 packed two per word, or f32 bits.
fn effectiveWeight(h: u32) -> u32 {
  var bits: u32;
  if (params.weightBf16 != 0u) {
    bits = f32BitsFromBf16(bf16Half(weight[h >> 1u], h));
  } else {
    bits = weight[h];
  }
  if (params.weightCastToBf16 != 0u) { bits = roundF32BitsToBf16(bits, BF16_ROUNDING_RNE); }
  // Gemma's (1 + w): in f32, or as torch's bf16 `weight + 1` (rounded to nearest even).
  switch params.weightOffset {
    case WEIGHTOFFSET_F32: { return f32_add(ONE_F32, bits, ENGINE_F32_SUBNORMALS); }
    case WEIGHTOFFSET_BF16: { return roundF32BitsToBf16(f32_add(ONE_F32, bits, F32_SUBNORMALS_KEEP), BF16_ROUNDING_RNE); } // torch, not the kernel
    default: { return bits; } // WEIGHTOFFSET_NONE
  }
}

// 5. Weight multiply in the contract's order, with the optional intermediate rounding (cpu normalize).
fn normalizeElement(local: u32, row: u32, h: u32) -> u32 {
  let rowRstd = rstd[row];
  let w = effectiveWeight(h);
  var first = rowRstd;
  var second = w;
  if (params.multiplyOrder == MULTIPLYORDER_X_W_RSTD) {
    first = w;
    second = rowRstd;
  }
  // norm.input 'f32-squares-bf16-normalize': the stored bf16 residual, not the f32 x the sum of
  // squares read.
  var v = x[local];
  if (params.normalizeInputBf16 != 0u) { v = roundBf16(v, params.roundResidualOut); }
  var t = f32_mul(v, first, ENGINE_F32_SUBNORMALS);
  if (params.roundIntermediate != 0u) { t = roundBf16(t, params.roundNormIntermediate); }
  return f32_mul(t, second, ENGINE_F32_SUBNORMALS);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn normalize(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
             @builtin(local_invocation_index) localIndex: u32) {
  let quad = invocationIndex(workgroupId, numWorkgroups, localIndex);
  let elements = chunkElements();
  if (quad * 4u >= elements) { return; }
  var normBits = array<u32, 4>(0u, 0u, 0u, 0u);
  // Row and column of the quad's first element; stepped, not divided, for the other three.
  var row = (quad * 4u) / params.hidden;
  var h = quad * 4u - row * params.hidden;
  for (var k = 0u; k < 4u; k++) {
    let local = quad * 4u + k;
    if (local < elements) {
      let y = normalizeElement(local, row, h);
      x[local] = y;
      normBits[k] = toBf16Bits(y, params.roundNormOut);
    }
    h++;
    if (h == params.hidden) {
      h = 0u;
      row++;
    }
  }
  normOut[quad * 2u] = packBf16Pair(normBits[0], normBits[1]);
  if (quad * 4u + 2u < elements) { normOut[quad * 2u + 1u] = packBf16Pair(normBits[2], normBits[3]); }
}
