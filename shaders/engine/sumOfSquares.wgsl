// Twin of src/engines/cpu/sumOfSquares.ts (sum of squares and rstd). One workgroup per token
// row plays the modelled kernel's logical threads. Trees from the layout module's ReductionPlan
// (params.treeFromPlan): each invocation computes lanes' partials with the per-thread pattern,
// then invocation 0 runs the plan's combine steps in order. The sequential, butterfly and
// scalar cub trees with a chain or fma chain keep their own code (the plan's bits, with warps
// spread over invocations): each invocation loops over logical threads (params.logicalThreads,
// padded to whole warps), then over warps, each warp's lanes reduced in the kernel's order;
// invocation 0 combines the warps and computes rstd.

// Every add of a sum is f32_addFast (f32_add's bits): lanes whose exponents compare differently
// run one path, not both of s_addMagsF32's.

@group(0) @binding(1) var<storage, read> x: array<u32>;
// Per row, one word per logical thread: its partial sum, then (at lane 0) its warp's sum.
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<u32>;
// The ReductionPlan (plan.ts reductionWords): laneStart[planSlots + 1] at 0, element indices at
// params.planElements, (dst, a, b) steps at params.planSteps.
@group(0) @binding(4) var<storage, read> reduction: array<u32>;

// layout/reduction.ts PADDING_ELEMENT: an element that reads as +0.
const PADDING_ELEMENT: u32 = 0xffffffffu;

fn squareAccumulate(acc: u32, v: u32) -> u32 {
  if (params.fma != 0u) { return f32_mulAdd(v, v, acc, ENGINE_F32_SUBNORMALS); }
  return f32_addFast(acc, f32_mul(v, v, ENGINE_F32_SUBNORMALS), ENGINE_F32_SUBNORMALS);
}

// x at plan element i of the row, +0 for padding.
fn planValue(rowBase: u32, i: u32) -> u32 {
  let element = reduction[params.planElements + i];
  if (element == PADDING_ELEMENT) { return ZERO_F32; }
  return x[rowBase + element];
}

// Plan elements first .. last-1 accumulated onto `start` with the per-thread pattern (cpu
// accumulateRun): chain, fma chain, vLLM's pair, or the pair contracted to one fma.
fn accumulateRun(rowBase: u32, first: u32, last: u32, start: u32) -> u32 {
  var acc = start;
  let ftz = ENGINE_F32_SUBNORMALS;
  switch params.perThreadPattern {
    case PERTHREAD_CHAIN: {
      for (var i = first; i < last; i++) { let v = planValue(rowBase, i); acc = f32_addFast(acc, f32_mul(v, v, ftz), ftz); }
    }
    case PERTHREAD_FMA_CHAIN: {
      for (var i = first; i < last; i++) { let v = planValue(rowBase, i); acc = f32_mulAdd(v, v, acc, ftz); }
    }
    case PERTHREAD_PAIR: {
      for (var i = first; i < last; i += 2u) {
        let v0 = planValue(rowBase, i);
        let v1 = planValue(rowBase, i + 1u);
        acc = f32_addFast(acc, f32_addFast(f32_mul(v0, v0, ftz), f32_mul(v1, v1, ftz), ftz), ftz);
      }
    }
    default: { // PERTHREAD_PAIR_FMA
      for (var i = first; i < last; i += 2u) {
        let v0 = planValue(rowBase, i);
        let v1 = planValue(rowBase, i + 1u);
        acc = f32_addFast(acc, f32_mulAdd(v0, v0, f32_mul(v1, v1, ftz), ftz), ftz);
      }
    }
  }
  return acc;
}

// Lane `lane`'s partial: its elements in order, or run by run, each run summed from 0 and added
// to the lane's sum (plan.nestedRuns).
fn planLanePartial(rowBase: u32, lane: u32) -> u32 {
  let start = reduction[lane];
  let end = reduction[lane + 1u];
  if (params.planNestedRuns == 0u) { return accumulateRun(rowBase, start, end, ZERO_F32); }
  var acc = ZERO_F32;
  for (var run = start; run < end; run += params.planRunLength) {
    acc = f32_addFast(acc, accumulateRun(rowBase, run, min(run + params.planRunLength, end), ZERO_F32), ENGINE_F32_SUBNORMALS);
  }
  return acc;
}

// Logical thread t's partial sum over the elements the tree gives it, in its order.
fn threadPartial(rowBase: u32, t: u32) -> u32 {
  var acc = ZERO_F32;
  switch params.treeKind {
    case TREE_SEQUENTIAL: {
      for (var h = 0u; h < params.hidden; h++) { acc = squareAccumulate(acc, x[rowBase + h]); }
    }
    case TREE_BUTTERFLY: {
      // Thread t holds [perThread*t, perThread*(t+1)); the padding threads hold zero.
      if (t < params.hidden / params.perThread) {
        for (var k = 0u; k < params.perThread; k++) { acc = squareAccumulate(acc, x[rowBase + t * params.perThread + k]); }
      }
    }
    default: { // TREE_CUB: thread t strides over h = t, t + B, ...
      if (t < params.cubBlock) {
        for (var h = t; h < params.hidden; h += params.cubBlock) { acc = squareAccumulate(acc, x[rowBase + h]); }
      }
    }
  }
  return acc;
}

// Lane 0's value of the XOR butterfly over `width` lanes at `base` (strides width/2 .. 1). At
// stride s, lane i < s holds lane[i] + lane[i ^ s] = lane[i] + lane[i + s]; the lanes at or past
// s never reach lane 0 again, so only these are kept. Lanes at or past `live` hold zeros.
fn xorButterflyLane0(base: u32, stride: u32, width: u32, live: u32) -> u32 {
  for (var s = width >> 1u; s >= 1u; s >>= 1u) {
    for (var i = 0u; i < s; i++) {
      let other = select(ZERO_F32, partials[base + (i + s) * stride], i + s < live);
      partials[base + i * stride] = f32_addFast(partials[base + i * stride], other, ENGINE_F32_SUBNORMALS);
    }
  }
  return partials[base];
}

// cub WarpReduce (shuffle-down): lane i adds lane i+offset for offsets 1, 2, 4, ...; lane 0's
// value. In place and in increasing i, as sumOfSquares.ts does: lane i + offset is still the
// previous step's value when lane i reads it.
fn shuffleDownReduce(base: u32, width: u32) -> u32 {
  for (var offset = 1u; offset < width; offset <<= 1u) {
    for (var i = 0u; i + offset < width; i++) {
      partials[base + i] = f32_addFast(partials[base + i], partials[base + i + offset], ENGINE_F32_SUBNORMALS);
    }
  }
  return partials[base];
}

fn nextPow2(n: u32) -> u32 {
  if (n <= 1u) { return 1u; }
  return 1u << (32u - countLeadingZeros(n - 1u));
}

// cpu varianceWithEps: variance + eps, in f32, or under norm.epsAdd 'f64' the double eps added in f64
// and rounded back to f32.
fn varianceWithEps(variance: u32) -> u32 {
  if (params.epsAddF64 != 0u) {
    return f32_addF64(variance, params.epsF64Hi, params.epsF64Lo, ENGINE_F32_SUBNORMALS);
  }
  return f32_add(variance, params.epsF32, ENGINE_F32_SUBNORMALS);
}

// cpu varianceOf and rstdOf. 4. rstd: the rsqrt operand as sumsq / H + eps, sumsq * (1 / H) + eps
// or fma(sumsq, 1 / H, eps), 1 / H and sumsq / H through the contract's hardware-op slots
// (hardwareOps.wgsl), then the rsqrt slot.
fn rstdOf(sumsq: u32) -> u32 {
  var variance: u32;
  switch params.variance {
    case VARIANCE_RECIPROCAL_MULTIPLY: {
      variance = varianceWithEps(f32_mul(sumsq, reciprocalSlot(params.hiddenF32), ENGINE_F32_SUBNORMALS));
    }
    case VARIANCE_RECIPROCAL_FMA: {
      variance = f32_mulAdd(sumsq, reciprocalSlot(params.hiddenF32), params.epsF32, ENGINE_F32_SUBNORMALS);
    }
    default: { // VARIANCE_DIVIDE
      variance = varianceWithEps(divideSlot(sumsq, params.hiddenF32));
    }
  }
  return rsqrtSlot(variance);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sumOfSquares(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
                @builtin(local_invocation_index) lane: u32) {
  let row = linearWorkgroupIndex(workgroupId, numWorkgroups);
  if (row >= params.rows) { return; }
  let rowBase = row * params.hidden;
  let partialBase = row * params.logicalThreads;

  if (params.treeFromPlan != 0u) {
    // cpu planSumOfSquares: every lane's partial, then the combine steps in order.
    for (var t = lane; t < params.planSlots; t += WORKGROUP_SIZE) {
      partials[partialBase + t] = planLanePartial(rowBase, t);
    }
    storageBarrier();
    // No early return for the other invocations: the barriers below must stay in uniform control flow.
    if (lane == 0u) {
      for (var s = 0u; s < params.planStepCount; s++) {
        let step = params.planSteps + 3u * s;
        partials[partialBase + reduction[step]] =
          f32_addFast(partials[partialBase + reduction[step + 1u]], partials[partialBase + reduction[step + 2u]], ENGINE_F32_SUBNORMALS);
      }
      rstd[row] = rstdOf(partials[partialBase + params.planResult]);
    }
    return;
  }

  // Thread partials.
  for (var t = lane; t < params.logicalThreads; t += WORKGROUP_SIZE) {
    partials[partialBase + t] = threadPartial(rowBase, t);
  }
  storageBarrier();

  // Each warp's lanes, reduced within the warp; the result lands at the warp's lane 0.
  for (var w = lane; w < params.warps; w += WORKGROUP_SIZE) {
    let warpBase = partialBase + w * params.warpSize;
    if (params.treeKind == TREE_BUTTERFLY) {
      xorButterflyLane0(warpBase, 1u, params.warpSize, params.warpSize);
    } else {
      shuffleDownReduce(warpBase, params.warpSize);
    }
  }
  storageBarrier();

  if (lane != 0u) { return; }
  var sumsq: u32;
  switch params.treeKind {
    case TREE_SEQUENTIAL: { sumsq = partials[partialBase]; }
    case TREE_BUTTERFLY: {
      // Lane 0 of each warp to shared memory, then a butterfly over next_pow2(warps) lanes.
      sumsq = xorButterflyLane0(partialBase, params.warpSize, nextPow2(params.warps), params.warps);
    }
    default: { // TREE_CUB: thread 0 adds the warp aggregates 1..W-1 in order.
      sumsq = partials[partialBase];
      for (var w = 1u; w < params.warps; w++) { sumsq = f32_addFast(sumsq, partials[partialBase + w * params.warpSize], ENGINE_F32_SUBNORMALS); }
    }
  }

  rstd[row] = rstdOf(sumsq);
}
