// The AMD twin of approx_measure.cu: what v_rsq_f32 and v_rcp_f32 return on gfx942/gfx950,
// for every f32 input, against the correctly rounded result. Compile-checked only so far (no
// AMD GPU lent); build and run on an AMD machine with
//
//   hipcc -O2 --offload-arch=gfx942 -fno-gpu-flush-denormals-to-zero gpu/approx_measure_amd.hip -o approx_measure_amd
//   ./approx_measure_amd OUTDIR && python3 gpu/pack_approx.py OUTDIR measure_amd.npz
//
// The same layout as the CUDA program: OUTDIR/<op>.table.u32 (one period: rsqrt on [1, 4),
// rcp on [1, 2)), <op>.ref.u32 (correctly rounded, checked with exact integer arithmetic),
// <op>.mismatch.u32 (input, hardware, predicted) for the inputs that break the scaling rule,
// and summary.txt. The instructions are reached through the clang builtins
// __builtin_amdgcn_rsqf / __builtin_amdgcn_rcpf, which lower to exactly v_rsq_f32 / v_rcp_f32
// (no range reduction around them, unlike 1/sqrtf or 1.0f/x); the flag
// -fno-gpu-flush-denormals-to-zero keeps the mode register's f32 denormal bits on, so the
// subnormal-input class measures the instruction, not a flush (aiter itself builds with
// -fgpu-flush-denormals-to-zero: run both to have both).
#include <hip/hip_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CHECK(call)                                                                     \
  do {                                                                                  \
    hipError_t err_ = (call);                                                           \
    if (err_ != hipSuccess) {                                                           \
      fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, hipGetErrorString(err_)); \
      exit(2);                                                                          \
    }                                                                                   \
  } while (0)

enum Op { RSQ = 0, RCP = 1, NUM_OPS = 2 };
static const char* kOpNames[] = {"v_rsq_f32", "v_rcp_f32"};

__device__ __forceinline__ float hw_op(int op, float x) {
  return op == RSQ ? __builtin_amdgcn_rsqf(x) : __builtin_amdgcn_rcpf(x);
}

__device__ __forceinline__ uint32_t bits_of(float x) { return __float_as_uint(x); }
__device__ __forceinline__ float float_of(uint32_t b) { return __uint_as_float(b); }

// y correctly rounded 1/sqrt(x) iff (2my-1)^2 * mx < 2^-e < (2my+1)^2 * mx (see approx_measure.cu).
__device__ bool rsqrt_is_correctly_rounded(uint32_t xb, uint32_t yb) {
  int ex = (int)((xb >> 23) & 0xff) - 150;
  uint64_t mx = (xb & 0x7fffff) | 0x800000;
  int ey = (int)((yb >> 23) & 0xff) - 150;
  uint64_t my = (yb & 0x7fffff) | 0x800000;
  int e = 2 * (ey - 1) + ex;
  if (-e < 0 || -e > 126) return false;
  unsigned __int128 lo = (unsigned __int128)((2 * my - 1) * (2 * my - 1)) * mx;
  unsigned __int128 hi = (unsigned __int128)((2 * my + 1) * (2 * my + 1)) * mx;
  unsigned __int128 one = (unsigned __int128)1 << (-e);
  return lo < one && one < hi;
}

__device__ bool rcp_is_correctly_rounded(uint32_t xb, uint32_t yb) {
  int ex = (int)((xb >> 23) & 0xff) - 150;
  uint64_t mx = (xb & 0x7fffff) | 0x800000;
  int ey = (int)((yb >> 23) & 0xff) - 150;
  uint64_t my = (yb & 0x7fffff) | 0x800000;
  int e = (ey - 1) + ex;
  if (-e < 0 || -e > 63) return false;
  uint64_t one = (uint64_t)1 << (-e);
  return (2 * my - 1) * mx < one && one < (2 * my + 1) * mx;
}

// Correctly rounded reference for x in one period: the nearest of the candidates around a
// double-precision estimate that passes the exact test above.
__device__ uint32_t reference(int op, uint32_t xb) {
  double x = (double)float_of(xb);
  double est = op == RSQ ? 1.0 / sqrt(x) : 1.0 / x;
  uint32_t c = bits_of((float)est);
  for (int d = -2; d <= 2; ++d) {
    uint32_t y = c + d;
    if (op == RSQ ? rsqrt_is_correctly_rounded(xb, y) : rcp_is_correctly_rounded(xb, y)) return y;
  }
  return 0xffffffffu;  // counted as a reference failure
}

__global__ void table_kernel(int op, uint32_t n, uint32_t* hw, uint32_t* ref, unsigned long long* bad) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t xb = 0x3f800000u + i;
  hw[i] = bits_of(hw_op(op, float_of(xb)));
  ref[i] = reference(op, xb);
  if (ref[i] == 0xffffffffu) atomicAdd(bad, 1ull);
}

struct Counters {
  unsigned long long total[4];     // special, normal, subnormal-in, subnormal/overflow-out
  unsigned long long mismatch[4];
  unsigned long long samples;
};
#define MAX_SAMPLES 65536

// Scaling rule: hardware(x) = T[period index] * 2^-k (rsqrt: x = m * 4^k; rcp: x = m * 2^k).
// Specials are checked against IEEE (NaN in -> NaN, rsqrt(+-0) = +-Inf, rcp(+-0) = +-Inf,
// rsqrt(+Inf) = 0, rcp(+-Inf) = +-0, rsqrt(negative) = NaN); results below the normal range
// are only counted (class 3) with the prediction "nearest-even subnormal".
__global__ void sweep_kernel(int op, uint64_t start, uint64_t count, const uint32_t* table, Counters* c,
                             uint32_t* samples) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t j = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; j < count; j += stride) {
    uint32_t u = (uint32_t)(start + j);
    uint32_t yb = bits_of(hw_op(op, float_of(u)));
    uint32_t sign = u & 0x80000000u, mag = u & 0x7fffffffu, bexp = mag >> 23;
    int cls = 1;
    uint32_t p;
    bool nan_expected = false;
    if (mag >= 0x7f800000u || mag == 0 || (op == RSQ && sign)) {
      cls = 0;
      if (mag > 0x7f800000u || (op == RSQ && sign && mag != 0)) { nan_expected = true; p = 0x7fffffffu; }
      else if (mag == 0) p = sign | 0x7f800000u;
      else p = op == RSQ ? 0u : sign;
    } else {
      int e;
      uint32_t sig;
      if (bexp == 0) {
        int lz = __clz(mag) - 8;
        sig = mag << lz;
        e = -126 - lz;
        cls = 2;
      } else {
        sig = (mag & 0x7fffffu) | 0x800000u;
        e = (int)bexp - 127;
      }
      if (op == RSQ) {
        int k = e >= 0 ? e / 2 : -((-e + 1) / 2);
        p = (uint32_t)((int)table[(sig & 0x7fffffu) | ((uint32_t)(e - 2 * k) << 23)] - (k << 23));
      } else {
        uint32_t t = table[sig & 0x7fffffu];
        int yexp = (int)(t >> 23) - e;
        if (yexp >= 255) { p = sign | 0x7f800000u; cls = 3; }
        else if (yexp >= 1) p = sign | ((uint32_t)yexp << 23) | (t & 0x7fffffu);
        else {
          cls = 3;
          uint64_t tsig = (t & 0x7fffffu) | 0x800000u;
          int shift = 1 - yexp;  // right shift of the 24-bit significand onto the subnormal grid
          uint64_t q = shift >= 63 ? 0 : tsig >> shift;
          uint64_t rem = shift >= 63 ? tsig : tsig & ((1ull << shift) - 1);
          uint64_t half = shift >= 64 ? 0 : (1ull << (shift - 1));
          if (shift < 63 && (rem > half || (rem == half && (q & 1)))) q += 1;
          p = sign | (uint32_t)q;
        }
      }
    }
    bool ok = nan_expected ? (yb & 0x7fffffffu) > 0x7f800000u : yb == p;
    atomicAdd(&c->total[cls], 1ull);
    if (!ok) {
      atomicAdd(&c->mismatch[cls], 1ull);
      unsigned long long slot = atomicAdd(&c->samples, 1ull);
      if (slot < MAX_SAMPLES) {
        samples[3 * slot] = u;
        samples[3 * slot + 1] = yb;
        samples[3 * slot + 2] = p;
      }
    }
  }
}

static void write_file(const std::string& path, const void* data, size_t bytes) {
  FILE* f = fopen(path.c_str(), "wb");
  if (!f || fwrite(data, 1, bytes, f) != bytes) {
    fprintf(stderr, "cannot write %s\n", path.c_str());
    exit(2);
  }
  fclose(f);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: approx_measure_amd OUTDIR\n");
    return 2;
  }
  std::string out = argv[1];
  hipDeviceProp_t prop;
  CHECK(hipGetDeviceProperties(&prop, 0));
  FILE* summary = fopen((out + "/summary.txt").c_str(), "w");
  if (!summary) {
    fprintf(stderr, "cannot write %s/summary.txt\n", out.c_str());
    return 2;
  }
  fprintf(summary, "device %s arch %s\n", prop.name, prop.gcnArchName);
  const uint32_t kTable = 1u << 24;
  uint32_t *d_hw, *d_ref, *d_samples;
  Counters* d_c;
  unsigned long long* d_bad;
  CHECK(hipMalloc(&d_hw, kTable * 4));
  CHECK(hipMalloc(&d_ref, kTable * 4));
  CHECK(hipMalloc(&d_samples, MAX_SAMPLES * 12));
  CHECK(hipMalloc(&d_c, sizeof(Counters)));
  CHECK(hipMalloc(&d_bad, 8));
  std::vector<uint32_t> h(kTable), r(kTable), s(MAX_SAMPLES * 3);
  for (int op = 0; op < NUM_OPS; ++op) {
    uint32_t n = op == RSQ ? kTable : kTable / 2;
    CHECK(hipMemset(d_bad, 0, 8));
    table_kernel<<<(n + 255) / 256, 256>>>(op, n, d_hw, d_ref, d_bad);
    CHECK(hipGetLastError());
    CHECK(hipDeviceSynchronize());
    unsigned long long bad = 0;
    CHECK(hipMemcpy(&bad, d_bad, 8, hipMemcpyDeviceToHost));
    CHECK(hipMemcpy(h.data(), d_hw, n * 4, hipMemcpyDeviceToHost));
    CHECK(hipMemcpy(r.data(), d_ref, n * 4, hipMemcpyDeviceToHost));
    write_file(out + "/" + kOpNames[op] + ".table.u32", h.data(), (size_t)n * 4);
    write_file(out + "/" + kOpNames[op] + ".ref.u32", r.data(), (size_t)n * 4);
    fprintf(summary, "%s table n=%u reference_failures=%llu\n", kOpNames[op], n, bad);
    CHECK(hipMemset(d_c, 0, sizeof(Counters)));
    for (uint64_t start = 0; start < (1ull << 32); start += (1ull << 30)) {
      sweep_kernel<<<prop.multiProcessorCount * 8, 256>>>(op, start, 1ull << 30, d_hw, d_c, d_samples);
      CHECK(hipGetLastError());
    }
    CHECK(hipDeviceSynchronize());
    Counters c;
    CHECK(hipMemcpy(&c, d_c, sizeof c, hipMemcpyDeviceToHost));
    const char* cls[] = {"special", "normal", "subnormal-in", "out-of-range-out"};
    for (int k = 0; k < 4; ++k)
      fprintf(summary, "%s sweep class=%s total=%llu mismatch=%llu\n", kOpNames[op], cls[k], c.total[k], c.mismatch[k]);
    unsigned long long ns = c.samples < MAX_SAMPLES ? c.samples : MAX_SAMPLES;
    CHECK(hipMemcpy(s.data(), d_samples, ns * 12, hipMemcpyDeviceToHost));
    write_file(out + "/" + kOpNames[op] + ".mismatch.u32", s.data(), ns * 12);
  }
  fprintf(summary, "done\n");
  fclose(summary);
  return 0;
}
