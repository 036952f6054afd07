// Twin of src/engines/cpu/sumOfSquares.ts (sum of squares and rstd). One workgroup per token
// row plays the modelled kernel's logical threads: each invocation loops over logical threads
// (params.logicalThreads, padded to whole warps), then over warps, each warp's lanes reduced in
// the kernel's order; invocation 0 combines the warps and computes rstd.

@group(0) @binding(1) var<storage, read> x: array<u32>;
// Per row, one word per logical thread: its partial sum, then (at lane 0) its warp's sum.
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<u32>;

fn squareAccumulate(acc: u32, v: u32) -> u32 {
  if (params.fma != 0u) { return f32_mulAdd(v, v, acc, params.f32Subnormals); }
  return f32_add(acc, f32_mul(v, v, params.f32Subnormals), params.f32Subnormals);
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
      partials[base + i * stride] = f32_add(partials[base + i * stride], other, params.f32Subnormals);
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
      partials[base + i] = f32_add(partials[base + i], partials[base + i + offset], params.f32Subnormals);
    }
  }
  return partials[base];
}

fn nextPow2(n: u32) -> u32 {
  if (n <= 1u) { return 1u; }
  return 1u << (32u - countLeadingZeros(n - 1u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sumOfSquares(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
                @builtin(local_invocation_index) lane: u32) {
  let row = linearWorkgroupIndex(workgroupId, numWorkgroups);
  if (row >= params.rows) { return; }
  let rowBase = row * params.hidden;
  let partialBase = row * params.logicalThreads;

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
      for (var w = 1u; w < params.warps; w++) { sumsq = f32_add(sumsq, partials[partialBase + w * params.warpSize], params.f32Subnormals); }
    }
  }

  // 4. rstd, every step correctly rounded: the mean square as sumsq / H or sumsq * fround(1 / H).
  var meanSquare: u32;
  if (params.varianceReciprocal != 0u) {
    meanSquare = f32_mul(sumsq, f32_div(ONE_F32, params.hiddenF32, params.f32Subnormals), params.f32Subnormals);
  } else {
    meanSquare = f32_div(sumsq, params.hiddenF32, params.f32Subnormals);
  }
  let variance = f32_add(meanSquare, params.epsF32, params.f32Subnormals);
  rstd[row] = f32_div(ONE_F32, f32_sqrt(variance, params.f32Subnormals), params.f32Subnormals);
}
