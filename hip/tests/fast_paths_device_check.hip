// Runs the 1-stage kernel's exact fast paths (kernels/fast_paths.h, row_math.h
// correctlyRoundedSqrt) on the GPU against the integer-exact code they replace, bit for bit:
//   sqrt   correctlyRoundedSqrt<true> vs sqrtF32Bits on every non-negative, non-NaN f32;
//   cvt    fp8Codes<true> vs fp8FromF32Bits (e4m3fn, both saturations) on every f32 pattern,
//          eight consecutive patterns a pack (so a pack mixes gated and ungated values, and a
//          swapped byte order of the cvt pairs shows);
//   ftzadd FlushingAddFtz vs addF32(a, b, flush) for every f32 pattern a against three partners
//          b each: a hashed pattern, a near-negation of a (cancellation into the subnormals),
//          and a hashed pattern with exponent field 0..3 (subnormal and tiny normal operands).
// Off NVIDIA (or below sm_89 for cvt) the fast paths are the reference code itself, and the
// check passes trivially. Exit 0: all equal; 1: a mismatch (the first few are printed).
#include "../kernels/fast_paths.h"

#include <cstdio>

namespace {

using namespace ulpwise;

struct Mismatches {
  unsigned long long count;
  uint32_t first[4];  // operand(s), fast result, reference result of one mismatch
};

__device__ void report(Mismatches* out, uint32_t a, uint32_t b, uint32_t fast, uint32_t reference) {
  if (atomicAdd(&out->count, 1ull) == 0) {
    out->first[0] = a;
    out->first[1] = b;
    out->first[2] = fast;
    out->first[3] = reference;
  }
}

__device__ uint32_t hashBits(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

__global__ void sqrtKernel(uint64_t first, uint32_t count, Mismatches* out) {
  const uint64_t i = first + blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  if (i >= first + count || i > 0x7f800000u) return;
  const uint32_t bits = static_cast<uint32_t>(i);
  const uint32_t fast = bitsFromF32(correctlyRoundedSqrt<true>(f32FromBits(bits)));
  const uint32_t reference = sqrtF32Bits(bits);
  if (fast != reference) report(out, bits, 0, fast, reference);
}

__global__ void cvtKernel(uint64_t firstPack, uint32_t packs, Mismatches* out) {
  const uint64_t pack = firstPack + blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  if (pack >= firstPack + packs) return;
  const uint32_t base = static_cast<uint32_t>(pack * kPackElems);
  float scaled[kPackElems];
  for (int k = 0; k < kPackElems; k++) scaled[k] = f32FromBits(base + k);
  for (const Fp8Saturation saturation : {Fp8Saturation::overflow, Fp8Saturation::satfinite}) {
    QuantContract q{};
    q.format = Fp8Format::e4m3fn;
    q.saturation = saturation;
    uint8_t codes[kPackElems];
    fp8Codes<true>(scaled, q, codes);
    for (int k = 0; k < kPackElems; k++) {
      const uint8_t reference = fp8FromF32Bits(base + k, q.format, q.saturation);
      if (codes[k] != reference) report(out, base + k, static_cast<uint32_t>(saturation), codes[k], reference);
    }
  }
}

__global__ void ftzAddKernel(uint64_t first, uint32_t count, Mismatches* out) {
  const uint64_t i = first + blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  if (i >= first + count) return;
  const uint32_t a = static_cast<uint32_t>(i);
  const uint32_t h = hashBits(a);
  const uint32_t partners[3] = {h, (a ^ 0x80000000u) + (h & 0xffu) - 0x80u, (h & 0x807fffffu) | (((h >> 8) & 3u) << 23)};
  for (const uint32_t b : partners) {
    const uint32_t fast = bitsFromF32(FlushingAddFtz{}(f32FromBits(a), f32FromBits(b)));
    const uint32_t reference = bitsFromF32(addF32(f32FromBits(a), f32FromBits(b), true));
    if (fast != reference) report(out, a, b, fast, reference);
  }
}

/** Runs `launch(first, count)` over [0, total) in chunks and returns the mismatches. */
template <typename Launch>
Mismatches sweep(const char* name, uint64_t total, Mismatches* device, Launch launch) {
  HIP_CHECK(hipMemset(device, 0, sizeof(Mismatches)));
  const uint64_t chunk = 1ull << 28;
  for (uint64_t first = 0; first < total; first += chunk) {
    const uint32_t count = static_cast<uint32_t>(total - first < chunk ? total - first : chunk);
    launch(first, count);
    HIP_CHECK_LAUNCH();
  }
  HIP_CHECK(hipDeviceSynchronize());
  Mismatches host{};
  HIP_CHECK(hipMemcpy(&host, device, sizeof host, hipMemcpyDeviceToHost));
  if (host.count == 0) {
    std::printf("fast_paths_device_check %s: 0 mismatches over %llu\n", name, static_cast<unsigned long long>(total));
  } else {
    std::printf("fast_paths_device_check %s: %llu mismatches over %llu; first: operands 0x%08x 0x%08x, fast 0x%08x, reference 0x%08x\n", name,
                host.count, static_cast<unsigned long long>(total), host.first[0], host.first[1], host.first[2], host.first[3]);
  }
  return host;
}

}  // namespace

int main() {
  Mismatches* device = nullptr;
  HIP_CHECK(hipMalloc(&device, sizeof(Mismatches)));
  constexpr unsigned threads = 256;
  const auto blocks = [](uint32_t count) { return dim3((count + threads - 1) / threads); };
  unsigned long long failures = 0;
  failures += sweep("sqrt", 0x7f800001ull, device, [&](uint64_t first, uint32_t count) {
                hipLaunchKernelGGL(sqrtKernel, blocks(count), dim3(threads), 0, nullptr, first, count, device);
              }).count;
  failures += sweep("cvt", (1ull << 32) / kPackElems, device, [&](uint64_t first, uint32_t count) {
                hipLaunchKernelGGL(cvtKernel, blocks(count), dim3(threads), 0, nullptr, first, count, device);
              }).count;
  failures += sweep("ftzadd", 1ull << 32, device, [&](uint64_t first, uint32_t count) {
                hipLaunchKernelGGL(ftzAddKernel, blocks(count), dim3(threads), 0, nullptr, first, count, device);
              }).count;
  HIP_CHECK(hipFree(device));
  return failures == 0 ? 0 : 1;
}
