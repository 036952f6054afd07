// Twin of src/engines/cpu/quant.ts (groupScale, quantize): per-group
// FP8 quant of the f32 normed value (x, after the normalize stage) or of its bf16 rounding
// (normOut). Two entry points: groupScale (one invocation per group of a row) writes each
// group's scale and reciprocal; quantize (one invocation per four elements) writes the codes.

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> normOut: array<u32>;
// Three regions of one word per group of the chunk, row-major, as f32 bits: the scales (the only
// region read back: row-major, they are the scale tensor's words); each scale's reciprocal (the
// reciprocal slot); f32_divisorReciprocal of each scale, which quantizeValue divides by (plan.ts
// SCALES_BUFFER_WORDS_PER_GROUP).
@group(0) @binding(3) var<storage, read_write> scales: array<u32>;
@group(0) @binding(4) var<storage, read_write> q: array<u32>;

// JS `a < b` on non-NaN f32 bits (SoftFloat f32_lt): -0 and +0 are equal.
fn f32LessThan(a: u32, b: u32) -> bool {
  let signA = a >> 31u;
  let signB = b >> 31u;
  if (signA != signB) { return signA != 0u && ((a | b) & 0x7fffffffu) != 0u; }
  return a != b && ((signA != 0u) != (a < b));
}

// Where group `group`'s reciprocal sits: past the chunk's scales.
fn reciprocalIndex(group: u32) -> u32 {
  return params.rows * params.groups + group;
}

// Where group `group`'s f32_divisorReciprocal sits: past the chunk's reciprocals.
fn divisorReciprocalIndex(group: u32) -> u32 {
  return 2u * params.rows * params.groups + group;
}

// CUDA fmaxf/fminf: a NaN operand yields the other operand.
fn fmaxf(a: u32, b: u32) -> u32 {
  if (isNaNF32UI(a)) { return b; }
  if (isNaNF32UI(b)) { return a; }
  return select(b, a, f32LessThan(b, a));
}

fn fminf(a: u32, b: u32) -> u32 {
  if (isNaNF32UI(a)) { return b; }
  if (isNaNF32UI(b)) { return a; }
  return select(b, a, f32LessThan(a, b));
}

// The value quantized at chunk-local element `local`.
fn quantInput(local: u32) -> u32 {
  if (params.quantInputBf16 != 0u) { return f32BitsFromBf16(bf16Half(normOut[local >> 1u], local)); }
  return x[local];
}

// quant.ts groupScale: amax, amax floor, scale formula (or the static scale), zero rule, scale
// floor before or after UE8M0.
fn groupScaleOf(firstElement: u32) -> u32 {
  if (params.hasStaticScale != 0u) { return params.staticScaleF32; }
  var amax = ZERO_F32;
  for (var k = 0u; k < params.groupSize; k++) {
    amax = fmaxf(amax, quantInput(firstElement + k) & 0x7fffffffu);
  }
  if (params.hasAmaxFloor != 0u) { amax = fmaxf(amax, params.amaxFloorF32); }
  var scale: u32;
  if (params.zeroAmaxScaleOne != 0u && (amax & 0x7fffffffu) == 0u) {
    scale = ONE_F32;
  } else if (params.scaleReciprocal == 0u) {
    scale = divideSlot(amax, params.divisorF32);
  } else {
    scale = f32_mul(amax, reciprocalSlot(params.divisorF32), ENGINE_F32_SUBNORMALS);
  }
  if (params.scaleFloorStage == SCALEFLOORSTAGE_BEFORE_UE8M0) { scale = fmaxf(scale, params.scaleFloorF32); }
  if (params.ue8m0 != 0u) { scale = roundToPowerOfTwo(scale, params.ue8m0Mode); }
  if (params.scaleFloorStage == SCALEFLOORSTAGE_AFTER_UE8M0) { scale = fmaxf(scale, params.scaleFloorF32); }
  return scale;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn groupScale(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
              @builtin(local_invocation_index) localIndex: u32) {
  let group = invocationIndex(workgroupId, numWorkgroups, localIndex);
  if (group >= params.rows * params.groups) { return; }
  // Groups never straddle rows (groupSize divides hidden), so the chunk's groups are contiguous.
  let scale = groupScaleOf(group * params.groupSize);
  scales[group] = scale;
  scales[reciprocalIndex(group)] = reciprocalSlot(scale);
  scales[divisorReciprocalIndex(group)] = f32_divisorReciprocal(scale, ENGINE_F32_SUBNORMALS);
}

// value / scale (quantize 'divide'; an IEEE divide slot divides with the scale's prepared
// reciprocal, in f32_div's bits) or value * reciprocal ('reciprocal').
fn quantizeValue(value: u32, group: u32) -> u32 {
  let scale = scales[group];
  var scaled: u32;
  if (params.quantizeReciprocal != 0u) {
    scaled = f32_mul(value, scales[reciprocalIndex(group)], ENGINE_F32_SUBNORMALS);
  } else if (params.divideSm90 != 0u) {
    scaled = divideSlot(value, scale);
  } else {
    scaled = f32_divByReciprocal(value, scale, scales[divisorReciprocalIndex(group)], ENGINE_F32_SUBNORMALS);
  }
  if (params.clamp != 0u) { scaled = fminf(fmaxf(scaled, params.clampF32 ^ SIGN_F32), params.clampF32); }
  return fp8FromF32Bits(scaled, params.fp8Format, params.fp8Saturation);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
            @builtin(local_invocation_index) localIndex: u32) {
  let quad = invocationIndex(workgroupId, numWorkgroups, localIndex);
  let elements = chunkElements();
  if (quad * 4u >= elements) { return; }
  var codes = 0u;
  // The first element's group and place in it; stepped, not divided, for the other three.
  var group = (quad * 4u) / params.groupSize;
  var inGroup = quad * 4u - group * params.groupSize;
  for (var k = 0u; k < 4u; k++) {
    let local = quad * 4u + k;
    if (local < elements) {
      let code = quantizeValue(quantInput(local), group);
      codes |= code << (8u * k);
    }
    inGroup++;
    if (inGroup == params.groupSize) {
      inGroup = 0u;
      group++;
    }
  }
  q[quad] = codes;
}
