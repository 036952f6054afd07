// Twin of src/engines/cpu/allReduce.ts (all-reduce, residual add, what the norm reads) and
// src/engines/layout/rankOrder.ts (where each element's rotation starts, or its NCCL segment).
// One invocation per four elements of the chunk.

// Every rank's chunk rows, packed bf16, one slot of params.slotWords words per rank, the slots
// in the rotation's base order (plan.ts slotRanks): the rotation indexes slots, not ranks.
@group(0) @binding(1) var<storage, read> rankSlots: array<u32>;
@group(0) @binding(2) var<storage, read> residual: array<u32>;
@group(0) @binding(3) var<storage, read_write> residualOut: array<u32>;
// The f32 x the norm reads, one word per element.
@group(0) @binding(4) var<storage, read_write> x: array<u32>;

// ceil(a / b) without forming a + b - 1, which could pass 2^32.
fn ceilDiv(a: u32, b: u32) -> u32 {
  return select(0u, (a - 1u) / b + 1u, a > 0u);
}

// Word k of an NCCL order's segments (ncclChannels.ts RankOrderSegments), packed after the rank
// slots (upload.ts): params.orderSegments segment ends, then each segment's ranks in summation
// order. The slots of an NCCL order are the ranks 0..N-1.
fn rankOrderWord(k: u32) -> u32 {
  return rankSlots[params.ranks * params.slotWords + k];
}

// ncclChannels.ts segmentOf: the segment whose end is the first one past the element.
fn segmentOf(element: u32) -> u32 {
  var lo = 0u;
  var hi = params.orderSegments - 1u;
  while (lo < hi) {
    let mid = (lo + hi) >> 1u;
    if (rankOrderWord(mid) > element) { hi = mid; } else { lo = mid + 1u; }
  }
  return lo;
}

// allReduce.ts `first`: the slot of the first rank summed for this flattened element (rankOrder.ts
// startFor), or where the element's NCCL segment's list of ranks starts (rankOrderWord).
fn orderStart(element: u32) -> u32 {
  switch params.orderKind {
    case ORDER_NCCL_RING, ORDER_NCCL_TREE: { return params.orderSegments + segmentOf(element) * params.ranks; }
    case ORDER_NATURAL: { return 0u; }
    case ORDER_OWN_FIRST: { return params.outputRank; }
    case ORDER_ROTATED: {
      // vLLM/aiter cross_device_reduce_2stage: part = packs / N, the last rank takes the rest.
      let packs = ceilDiv(params.totalElements, params.packElems);
      let part = packs / params.ranks;
      if (part == 0u) { return params.ranks - 1u; }
      return min((element / params.packElems) / part, params.ranks - 1u);
    }
    default: { // ORDER_RING (one channel)
      let chunk = ceilDiv(ceilDiv(params.totalElements, params.ranks), params.chunkAlignElems) * params.chunkAlignElems;
      // Chunk c is reduced starting at ring position c+1 and ends at c, where it is complete.
      return (element / chunk + 1u) % params.ranks;
    }
  }
}

// allReduce.ts sequence[..]: the slot of the i-th rank summed, the segment's i-th rank or the
// rotation's (first + i) % ranks (first < ranks), without a division per rank.
fn orderSlot(first: u32, i: u32) -> u32 {
  if (params.orderSegments != 0u) { return rankOrderWord(first + i); }
  let slot = first + i;
  return select(slot, slot - params.ranks, slot >= params.ranks);
}

// f32 bits of slot `slot`'s element `local` (chunk-local index); a -0 reads as +0 under
// allReduce.negativeZeroInputs 'positive' (cpu allReduce inputValue).
fn slotValue(slot: u32, local: u32) -> u32 {
  let bits = bf16Half(rankSlots[slot * params.slotWords + (local >> 1u)], local);
  if (params.negativeZeroToPositive != 0u && bits == 0x8000u) { return ZERO_F32; }
  return f32BitsFromBf16(bits);
}

struct Reduced {
  residualOut: u32, // bf16 bits
  x: u32,           // f32 bits
}

fn allReduceElement(local: u32) -> Reduced {
  // 1. All-reduce in the contract's rank order, then the optional bf16 round trip. f32_addFast:
  // f32_add's bits, one path for both signs (bf16 ranks are normal or zero).
  let first = orderStart(params.firstElement + local);
  var acc = slotValue(orderSlot(first, 0u), local);
  for (var i = 1u; i < params.ranks; i++) {
    acc = f32_addFast(acc, slotValue(orderSlot(first, i), local), ENGINE_F32_SUBNORMALS);
    if (params.accumulateBf16 != 0u) { acc = roundBf16(acc, params.roundAllReduceHop); }
  }
  if (params.roundResultBf16 != 0u) { acc = roundBf16(acc, params.roundAllReduceResult); }
  // 2. Residual add: kept in f32 or rounded to bf16.
  var residualBits = 0u;
  if (params.hasResidual != 0u) {
    acc = f32_addFast(acc, f32BitsFromBf16(bf16Half(residual[local >> 1u], local)), ENGINE_F32_SUBNORMALS);
    if (params.residualAddBf16 != 0u) { acc = roundBf16(acc, params.roundResidualAdd); }
    residualBits = toBf16Bits(acc, params.roundResidualOut);
  }
  // 3. What the norm reads.
  return Reduced(residualBits, select(acc, roundBf16(acc, params.roundResidualOut), params.normInputBf16 != 0u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn allReduce(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
             @builtin(local_invocation_index) localIndex: u32) {
  let quad = invocationIndex(workgroupId, numWorkgroups, localIndex);
  let elements = chunkElements();
  if (quad * 4u >= elements) { return; }
  var residualBits = array<u32, 4>(0u, 0u, 0u, 0u);
  for (var k = 0u; k < 4u; k++) {
    let local = quad * 4u + k;
    if (local < elements) {
      let reduced = allReduceElement(local);
      residualBits[k] = reduced.residualOut;
      x[local] = reduced.x;
    }
  }
  if (params.hasResidual != 0u) {
    residualOut[quad * 2u] = packBf16Pair(residualBits[0], residualBits[1]);
    if (quad * 4u + 2u < elements) { residualOut[quad * 2u + 1u] = packBf16Pair(residualBits[2], residualBits[3]); }
  }
}
