// Measures sm_90's approximate f32 operations against the correctly rounded result.
//
//   rsqrt.approx.f32, rsqrt.approx.ftz.f32, rcp.approx.f32, rcp.approx.ftz.f32: every one of
//   the 2^32 inputs; div.full.f32 (and .ftz): seeded pairs plus special pairs.
//
// For rsqrt and rcp the program first records a table over one period of the input: x in [1, 4)
// for rsqrt (2^24 inputs: mantissa and exponent parity), x in [1, 2) for rcp (2^23 inputs). It
// then checks, on every f32 input, the rule that the hardware result is the table entry scaled
// by the input's power of two (rsqrt(x * 4^k) = rsqrt(x) * 2^-k, rcp(x * 2^k) = rcp(x) * 2^-k),
// with special values, subnormal inputs and subnormal outputs as separate classes, and stores
// the inputs that break the rule. Everything is written to the output folder as raw
// little-endian arrays plus a text summary; gpu/pack_approx.py packs them.
//
// Reference values: __frsqrt_rn, __frcp_rn and __fdiv_rn are the CUDA correctly rounded
// intrinsics; the rsqrt and rcp table references are also checked here with exact integer
// arithmetic (the midpoint test below), and any disagreement is counted in the summary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define CHECK(call)                                                                   \
  do {                                                                                \
    cudaError_t err_ = (call);                                                        \
    if (err_ != cudaSuccess) {                                                        \
      fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call,                    \
              cudaGetErrorString(err_));                                              \
      exit(2);                                                                        \
    }                                                                                 \
  } while (0)

enum Op { RSQRT = 0, RSQRT_FTZ = 1, RCP = 2, RCP_FTZ = 3, NUM_UNARY = 4 };
static const char* kOpNames[] = {"rsqrt.approx.f32", "rsqrt.approx.ftz.f32", "rcp.approx.f32",
                                 "rcp.approx.ftz.f32"};

__device__ __forceinline__ float hw_unary(int op, float x) {
  float y;
  switch (op) {
    case RSQRT: asm volatile("rsqrt.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); break;
    case RSQRT_FTZ: asm volatile("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); break;
    case RCP: asm volatile("rcp.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); break;
    default: asm volatile("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); break;
  }
  return y;
}

__device__ __forceinline__ float hw_div_full(float a, float b) {
  float y;
  asm volatile("div.full.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
  return y;
}

__device__ __forceinline__ float hw_div_full_ftz(float a, float b) {
  float y;
  asm volatile("div.full.ftz.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
  return y;
}

// What nvcc makes of the library spellings (their PTX and SASS are dumped beside this run).
__global__ void spellings(const float* a, const float* b, float* out) {
  int i = threadIdx.x;
  out[5 * i + 0] = rsqrtf(a[i]);
  out[5 * i + 1] = 1.0f / a[i];
  out[5 * i + 2] = __fdividef(a[i], b[i]);
  out[5 * i + 3] = a[i] / b[i];
  out[5 * i + 4] = __frcp_rn(a[i]);
}

// Exact check that y (positive normal f32) is the correctly rounded 1/sqrt(x) (x positive normal
// f32): with x = mx * 2^ex and the midpoints m = (2*my +- 1) * 2^(ey-1) around y = my * 2^ey,
// y is correct iff m_lo^2 * x < 1 < m_hi^2 * x (no midpoint is ever exact: x would be a power
// of 4 times an odd square of 25 bits, which has more than 24 bits).
__device__ bool rsqrt_is_correctly_rounded(uint32_t xb, uint32_t yb) {
  int ex = (int)((xb >> 23) & 0xff) - 127 - 23;
  uint64_t mx = (xb & 0x7fffff) | 0x800000;
  int ey = (int)((yb >> 23) & 0xff) - 127 - 23;
  uint64_t my = (yb & 0x7fffff) | 0x800000;
  // m^2 * x = (2my+-1)^2 * mx * 2^(2(ey-1) + ex); compare with 1 = 2^0.
  int e = 2 * (ey - 1) + ex;  // compare (2my+-1)^2 * mx with 2^-e
  unsigned __int128 lo = (unsigned __int128)((2 * my - 1) * (2 * my - 1)) * mx;
  unsigned __int128 hi = (unsigned __int128)((2 * my + 1) * (2 * my + 1)) * mx;
  if (-e < 0 || -e > 126) return false;
  unsigned __int128 one = (unsigned __int128)1 << (-e);
  return lo < one && one < hi;
}

// Same for 1/x: y correct iff m_lo * x < 1 < m_hi * x.
__device__ bool rcp_is_correctly_rounded(uint32_t xb, uint32_t yb) {
  int ex = (int)((xb >> 23) & 0xff) - 127 - 23;
  uint64_t mx = (xb & 0x7fffff) | 0x800000;
  int ey = (int)((yb >> 23) & 0xff) - 127 - 23;
  uint64_t my = (yb & 0x7fffff) | 0x800000;
  int e = (ey - 1) + ex;
  uint64_t lo = (2 * my - 1) * mx;
  uint64_t hi = (2 * my + 1) * mx;
  if (-e < 0 || -e > 63) return false;
  uint64_t one = (uint64_t)1 << (-e);
  return lo < one && one < hi;
}

// Table over one period: rsqrt on [1, 4) (2^24 entries), rcp on [1, 2) (2^23 entries).
__global__ void table_kernel(int op, uint32_t n, uint32_t* hw, uint32_t* ref,
                             unsigned long long* ref_bad) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t xb = 0x3f800000u + i;
  float x = __uint_as_float(xb);
  float y = hw_unary(op, x);
  float r = (op == RSQRT || op == RSQRT_FTZ) ? __frsqrt_rn(x) : __frcp_rn(x);
  uint32_t rb = __float_as_uint(r);
  bool ok = (op == RSQRT || op == RSQRT_FTZ) ? rsqrt_is_correctly_rounded(xb, rb)
                                              : rcp_is_correctly_rounded(xb, rb);
  if (!ok) atomicAdd(ref_bad, 1ull);
  hw[i] = __float_as_uint(y);
  ref[i] = rb;
}

// Round sig * 2^sh (sig < 2^25, sh < -149 + something) to the f32 subnormal grid (multiples
// of 2^-149), nearest-even; returns the magnitude bits.
__device__ uint32_t round_to_subnormal(uint64_t sig, int exp2) {
  // value = sig * 2^exp2; grid unit 2^-149; q = value / 2^-149 = sig * 2^(exp2 + 149)
  int shift = -149 - exp2;  // right shift
  if (shift <= 0) return (uint32_t)(sig << (-shift));
  if (shift >= 63) return 0;
  uint64_t q = sig >> shift;
  uint64_t rem = sig & ((1ull << shift) - 1);
  uint64_t half = 1ull << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) q += 1;
  return (uint32_t)q;
}

enum Cls {
  C_NAN = 0,       // NaN input: expect some NaN
  C_ZERO,          // +-0 (or ftz-flushed subnormal): expect +-Inf
  C_INF,           // +-Inf: rsqrt(+Inf) = +0, rsqrt(-Inf) = NaN, rcp(+-Inf) = +-0
  C_NEG,           // rsqrt of a negative nonzero finite: expect NaN
  C_NORMAL,        // normal input, normal output: table rule
  C_SUB_IN,        // subnormal input (non-ftz): table rule on the normalized input
  C_SUB_OUT,       // rcp result below the normal range: rule R1 (nearest-even subnormal)
  C_OVERFLOW,      // rcp result above the range: expect +-Inf
  NUM_CLS
};
static const char* kClsNames[] = {"nan",      "zero",          "inf",     "negative",
                                  "normal",   "subnormal-in",  "subnormal-out", "overflow"};

struct Counters {
  unsigned long long total[NUM_CLS];
  unsigned long long mismatch[NUM_CLS];
  unsigned long long sub_out_flush_match;   // subnormal-out results equal to +-0
  unsigned long long sub_out_trunc_match;   // subnormal-out results equal to the truncated value
  unsigned long long nan_noncanonical;      // NaN results other than 0x7fffffff
  unsigned long long samples;
};

#define MAX_SAMPLES 65536

__device__ uint32_t predict(int op, uint32_t u, const uint32_t* table, int* cls,
                            uint32_t* trunc_alt) {
  bool ftz = (op == RSQRT_FTZ || op == RCP_FTZ);
  bool is_rsqrt = (op == RSQRT || op == RSQRT_FTZ);
  uint32_t sign = u & 0x80000000u;
  uint32_t mag = u & 0x7fffffffu;
  uint32_t bexp = mag >> 23;
  *trunc_alt = 0xffffffffu;
  if (mag > 0x7f800000u) { *cls = C_NAN; return 0x7fffffffu; }
  if (mag == 0x7f800000u) {
    *cls = C_INF;
    if (is_rsqrt) return sign ? 0x7fffffffu : 0u;
    return sign;
  }
  if (mag == 0 || (ftz && bexp == 0)) {
    *cls = C_ZERO;
    return sign | 0x7f800000u;
  }
  if (is_rsqrt && sign) { *cls = C_NEG; return 0x7fffffffu; }
  // normalize: x = sig * 2^(e - 23), sig in [2^23, 2^24)
  int e;
  uint32_t sig;
  bool sub_in = (bexp == 0);
  if (sub_in) {
    int lz = __clz(mag) - 8;  // mag < 2^23
    sig = mag << lz;
    e = -126 - lz;
  } else {
    sig = mag & 0x7fffffu;
    sig |= 0x800000u;
    e = (int)bexp - 127;
  }
  *cls = sub_in ? C_SUB_IN : C_NORMAL;
  if (is_rsqrt) {
    int k = (e >= 0) ? e / 2 : -((-e + 1) / 2);  // floor(e / 2)
    uint32_t idx = (sig & 0x7fffffu) | ((uint32_t)(e - 2 * k) << 23);
    uint32_t t = table[idx];
    return (uint32_t)((int)t - (k << 23));
  }
  uint32_t t = table[sig & 0x7fffffu];
  int texp = (int)(t >> 23);  // biased exponent of T in (0.5, 1]: 126 or 127
  int yexp = texp - e;
  if (yexp >= 255) { *cls = C_OVERFLOW; return sign | 0x7f800000u; }
  if (yexp >= 1) return sign | ((uint32_t)yexp << 23) | (t & 0x7fffffu);
  if (!sub_in) *cls = C_SUB_OUT;
  if (ftz) return sign;
  uint64_t tsig = (t & 0x7fffffu) | 0x800000u;
  int exp2 = (texp - 127 - 23) - e;
  int shift = -149 - exp2;
  *trunc_alt = sign | (uint32_t)(shift >= 63 ? 0 : (tsig >> shift));
  return sign | round_to_subnormal(tsig, exp2);
}

__global__ void sweep_kernel(int op, uint64_t start, uint64_t count, const uint32_t* table,
                             Counters* c, uint32_t* samples) {
  __shared__ unsigned long long s_total[NUM_CLS], s_mis[NUM_CLS];
  if (threadIdx.x < NUM_CLS) { s_total[threadIdx.x] = 0; s_mis[threadIdx.x] = 0; }
  __syncthreads();
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t j = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; j < count; j += stride) {
    uint32_t u = (uint32_t)(start + j);
    float y = hw_unary(op, __uint_as_float(u));
    uint32_t yb = __float_as_uint(y);
    int cls;
    uint32_t trunc_alt;
    uint32_t p = predict(op, u, table, &cls, &trunc_alt);
    bool ok;
    if (cls == C_NAN || p == 0x7fffffffu) {
      ok = (yb & 0x7fffffffu) > 0x7f800000u;
      if (ok && yb != 0x7fffffffu) atomicAdd(&c->nan_noncanonical, 1ull);
    } else {
      ok = (yb == p);
    }
    if (cls == C_SUB_OUT) {
      if ((yb & 0x7fffffffu) == 0) atomicAdd(&c->sub_out_flush_match, 1ull);
      if (yb == trunc_alt) atomicAdd(&c->sub_out_trunc_match, 1ull);
    }
    atomicAdd(&s_total[cls], 1ull);
    if (!ok) {
      atomicAdd(&s_mis[cls], 1ull);
      unsigned long long slot = atomicAdd(&c->samples, 1ull);
      if (slot < MAX_SAMPLES) {
        samples[3 * slot + 0] = u;
        samples[3 * slot + 1] = yb;
        samples[3 * slot + 2] = p;
      }
    }
  }
  __syncthreads();
  if (threadIdx.x < NUM_CLS) {
    atomicAdd(&c->total[threadIdx.x], s_total[threadIdx.x]);
    atomicAdd(&c->mismatch[threadIdx.x], s_mis[threadIdx.x]);
  }
}

// The pair generator, shared with src/numerics/hardware (sm90DivPairs): splitmix32-style mix of
// (set, index). Set 0: any bits. Set 1: both exponents in [104, 150] (quotients near 1,
// mostly in range). Set 2: divisor magnitude in [2^125, 2^128) (div.full's scaling branch),
// dividend any finite exponent in [1, 254].
__host__ __device__ uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

__host__ __device__ void div_pair(uint32_t set, uint32_t i, uint32_t* a, uint32_t* b) {
  uint32_t ra = mix32(i * 2u + 0x9e3779b9u * (set + 1));
  uint32_t rb = mix32(i * 2u + 1u + 0x9e3779b9u * (set + 1));
  if (set == 0) {
    *a = ra;
    *b = rb;
  } else if (set == 1) {
    *a = (ra & 0x807fffffu) | ((104u + (ra >> 23) % 47u) << 23);
    *b = (rb & 0x807fffffu) | ((104u + (rb >> 23) % 47u) << 23);
  } else {
    *a = (ra & 0x807fffffu) | ((1u + (ra >> 23) % 254u) << 23);
    *b = (rb & 0x807fffffu) | ((252u + (rb >> 23) % 3u) << 23);
  }
}

__global__ void div_kernel(uint32_t set, uint32_t n, int ftz, uint32_t* hw, uint32_t* ref) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t a, b;
  div_pair(set, i, &a, &b);
  float fa = __uint_as_float(a), fb = __uint_as_float(b);
  hw[i] = __float_as_uint(ftz ? hw_div_full_ftz(fa, fb) : hw_div_full(fa, fb));
  ref[i] = __float_as_uint(__fdiv_rn(fa, fb));
}

__global__ void div_list_kernel(const uint32_t* a, const uint32_t* b, uint32_t n, int ftz,
                                uint32_t* hw, uint32_t* ref) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float fa = __uint_as_float(a[i]), fb = __uint_as_float(b[i]);
  hw[i] = __float_as_uint(ftz ? hw_div_full_ftz(fa, fb) : hw_div_full(fa, fb));
  ref[i] = __float_as_uint(__fdiv_rn(fa, fb));
}

// Seeded spot inputs for the unary ops (every class of input: mix32 of the index covers all bit
// patterns), written with the hardware result of each op: test vectors for the emulation.
__global__ void unary_samples_kernel(uint32_t n, uint32_t* rows) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t u = mix32(i ^ 0x5bd1e995u);
  float x = __uint_as_float(u);
  rows[5 * i + 0] = u;
  for (int op = 0; op < NUM_UNARY; ++op) rows[5 * i + 1 + op] = __float_as_uint(hw_unary(op, x));
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
    fprintf(stderr, "usage: approx_measure OUTDIR\n");
    return 2;
  }
  std::string out = argv[1];
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0, runtime = 0;
  CHECK(cudaDriverGetVersion(&driver));
  CHECK(cudaRuntimeGetVersion(&runtime));
  FILE* summary = fopen((out + "/summary.txt").c_str(), "w");
  fprintf(summary, "device %s sm_%d%d driver %d runtime %d\n", prop.name, prop.major, prop.minor,
          driver, runtime);

  // Spellings kernel: run once so it is in the binary and exercised.
  {
    float *a, *b, *o;
    CHECK(cudaMalloc(&a, 32 * 4));
    CHECK(cudaMalloc(&b, 32 * 4));
    CHECK(cudaMalloc(&o, 160 * 4));
    CHECK(cudaMemset(a, 0x3f, 32 * 4));
    CHECK(cudaMemset(b, 0x40, 32 * 4));
    spellings<<<1, 32>>>(a, b, o);
    CHECK(cudaDeviceSynchronize());
    cudaFree(a); cudaFree(b); cudaFree(o);
  }

  uint32_t *d_hw, *d_ref, *d_samples;
  Counters* d_c;
  unsigned long long* d_bad;
  const uint32_t kTable = 1u << 24;
  CHECK(cudaMalloc(&d_hw, kTable * 4));
  CHECK(cudaMalloc(&d_ref, kTable * 4));
  CHECK(cudaMalloc(&d_samples, MAX_SAMPLES * 3 * 4));
  CHECK(cudaMalloc(&d_c, sizeof(Counters)));
  CHECK(cudaMalloc(&d_bad, 8));
  std::vector<uint32_t> h_hw(kTable), h_ref(kTable), h_samples(MAX_SAMPLES * 3);

  for (int op = 0; op < NUM_UNARY; ++op) {
    uint32_t n = (op == RSQRT || op == RSQRT_FTZ) ? kTable : kTable / 2;
    CHECK(cudaMemset(d_bad, 0, 8));
    table_kernel<<<(n + 255) / 256, 256>>>(op, n, d_hw, d_ref, d_bad);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    unsigned long long bad = 0;
    CHECK(cudaMemcpy(&bad, d_bad, 8, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(h_hw.data(), d_hw, n * 4, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(h_ref.data(), d_ref, n * 4, cudaMemcpyDeviceToHost));
    write_file(out + "/" + kOpNames[op] + ".table.u32", h_hw.data(), (size_t)n * 4);
    write_file(out + "/" + kOpNames[op] + ".ref.u32", h_ref.data(), (size_t)n * 4);
    fprintf(summary, "%s table n=%u reference_not_correctly_rounded=%llu\n", kOpNames[op], n, bad);

    CHECK(cudaMemset(d_c, 0, sizeof(Counters)));
    const uint64_t kChunk = 1ull << 30;
    for (uint64_t start = 0; start < (1ull << 32); start += kChunk) {
      sweep_kernel<<<prop.multiProcessorCount * 8, 256>>>(op, start, kChunk, d_hw, d_c,
                                                           d_samples);
      CHECK(cudaGetLastError());
    }
    CHECK(cudaDeviceSynchronize());
    Counters c;
    CHECK(cudaMemcpy(&c, d_c, sizeof(Counters), cudaMemcpyDeviceToHost));
    for (int k = 0; k < NUM_CLS; ++k)
      fprintf(summary, "%s sweep class=%s total=%llu mismatch=%llu\n", kOpNames[op],
              kClsNames[k], c.total[k], c.mismatch[k]);
    fprintf(summary, "%s sweep subnormal-out flush_match=%llu trunc_match=%llu nan_noncanonical=%llu\n",
            kOpNames[op], c.sub_out_flush_match, c.sub_out_trunc_match, c.nan_noncanonical);
    unsigned long long ns = c.samples < MAX_SAMPLES ? c.samples : MAX_SAMPLES;
    CHECK(cudaMemcpy(h_samples.data(), d_samples, ns * 12, cudaMemcpyDeviceToHost));
    write_file(out + "/" + kOpNames[op] + ".mismatch.u32", h_samples.data(), ns * 12);
    fprintf(summary, "%s sweep mismatches_stored=%llu of %llu\n", kOpNames[op], ns, c.samples);
    fflush(summary);
  }

  {
    const uint32_t kSpots = 1u << 16;
    unary_samples_kernel<<<kSpots / 256, 256>>>(kSpots, d_hw);
    CHECK(cudaGetLastError());
    CHECK(cudaDeviceSynchronize());
    std::vector<uint32_t> rows(kSpots * 5);
    CHECK(cudaMemcpy(rows.data(), d_hw, rows.size() * 4, cudaMemcpyDeviceToHost));
    write_file(out + "/unary.spots.u32", rows.data(), rows.size() * 4);
  }

  // div.full.f32 and div.full.ftz.f32 on three seeded sets of 2^22 pairs.
  const uint32_t kPairs = 1u << 22;
  for (int ftz = 0; ftz < 2; ++ftz) {
    for (uint32_t set = 0; set < 3; ++set) {
      div_kernel<<<(kPairs + 255) / 256, 256>>>(set, kPairs, ftz, d_hw, d_ref);
      CHECK(cudaGetLastError());
      CHECK(cudaDeviceSynchronize());
      CHECK(cudaMemcpy(h_hw.data(), d_hw, kPairs * 4, cudaMemcpyDeviceToHost));
      CHECK(cudaMemcpy(h_ref.data(), d_ref, kPairs * 4, cudaMemcpyDeviceToHost));
      char name[128];
      snprintf(name, sizeof name, "/div.full%s.f32.set%u", ftz ? ".ftz" : "", set);
      write_file(out + name + ".hw.u32", h_hw.data(), (size_t)kPairs * 4);
      write_file(out + name + ".ref.u32", h_ref.data(), (size_t)kPairs * 4);
      unsigned long long differ = 0;
      for (uint32_t i = 0; i < kPairs; ++i) differ += (h_hw[i] != h_ref[i]);
      fprintf(summary, "%s differ_from_div_rn=%llu of %u\n", name + 1, differ, kPairs);
    }
  }
  // Special pairs: every pair of a list of edge values (cross product).
  {
    std::vector<uint32_t> edges = {
        0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x00000001u,
        0x80000001u, 0x007fffffu, 0x00400000u, 0x00800000u, 0x00800001u, 0x01000000u,
        0x0c000000u, 0x3f800000u, 0xbf800000u, 0x3f800001u, 0x3fffffffu, 0x40000000u,
        0x40400000u, 0x45e00000u, 0x3f7fffffu, 0x7e7fffffu, 0x7e800000u, 0x7e800001u,
        0x7effffffu, 0x7f000000u, 0x7f000001u, 0x7f7fffffu, 0xff7fffffu, 0x7f400000u,
        0x7ec00000u, 0x7e000000u, 0x3e800000u, 0x00000002u, 0x00200000u, 0x4b000000u,
        0x5f800000u, 0x1f800000u, 0x42000000u, 0x3eaaaaabu};
    uint32_t ne = (uint32_t)edges.size();
    std::vector<uint32_t> a, b;
    for (uint32_t i = 0; i < ne; ++i)
      for (uint32_t j = 0; j < ne; ++j) { a.push_back(edges[i]); b.push_back(edges[j]); }
    uint32_t n = (uint32_t)a.size();
    uint32_t *d_a, *d_b;
    CHECK(cudaMalloc(&d_a, n * 4));
    CHECK(cudaMalloc(&d_b, n * 4));
    CHECK(cudaMemcpy(d_a, a.data(), n * 4, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d_b, b.data(), n * 4, cudaMemcpyHostToDevice));
    for (int ftz = 0; ftz < 2; ++ftz) {
      div_list_kernel<<<(n + 255) / 256, 256>>>(d_a, d_b, n, ftz, d_hw, d_ref);
      CHECK(cudaDeviceSynchronize());
      CHECK(cudaMemcpy(h_hw.data(), d_hw, n * 4, cudaMemcpyDeviceToHost));
      CHECK(cudaMemcpy(h_ref.data(), d_ref, n * 4, cudaMemcpyDeviceToHost));
      std::vector<uint32_t> rows;
      for (uint32_t i = 0; i < n; ++i) {
        rows.push_back(a[i]); rows.push_back(b[i]); rows.push_back(h_hw[i]); rows.push_back(h_ref[i]);
      }
      std::string name = std::string("/div.full") + (ftz ? ".ftz" : "") + ".f32.edges.u32";
      write_file(out + name, rows.data(), rows.size() * 4);
    }
  }
  fprintf(summary, "done\n");
  fclose(summary);
  return 0;
}
