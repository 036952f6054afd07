// Shared by every engine stage: the contract's parameters, the invocation index, and the packed
// layouts. Tensors stay packed integers: bf16 two per u32 (element 2k in the low half), fp8
// four per u32 (element 4k in the low byte), f32 as its bits. Every f32 value is a u32 bit
// pattern handed to the soft-float; nothing here is ever bitcast to f32.

@group(0) @binding(0) var<uniform> params: Params;

const ZERO_F32: u32 = 0x00000000u;
const ONE_F32: u32 = 0x3f800000u;
const SIGN_F32: u32 = 0x80000000u;

// The invocation's index in a dispatch spread over x, y and z (dispatch.ts splitWorkgroups).
fn invocationIndex(workgroupId: vec3u, numWorkgroups: vec3u, localIndex: u32) -> u32 {
  return linearWorkgroupIndex(workgroupId, numWorkgroups) * WORKGROUP_SIZE + localIndex;
}

// Element `index` of a packed bf16 stream, given the word holding it (word index >> 1).
fn bf16Half(word: u32, index: u32) -> u32 {
  return (word >> ((index & 1u) * 16u)) & 0xffffu;
}

fn packBf16Pair(low: u32, high: u32) -> u32 {
  return (low & 0xffffu) | (high << 16u);
}

// An f32 -> bf16 downcast with one site's rounding (params.round*), and the round trip through it.
fn toBf16Bits(value: u32, rounding: u32) -> u32 {
  return bf16FromF32Bits(value, rounding);
}

fn roundBf16(value: u32, rounding: u32) -> u32 {
  return roundF32BitsToBf16(value, rounding);
}

// Elements this chunk holds (rows x hidden); element-wise stages give each invocation four.
fn chunkElements() -> u32 {
  return params.rows * params.hidden;
}
