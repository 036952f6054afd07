// Runs bits.h on the GPU and compares every result with the host's, compiled from the same
// header: every f32 pattern through every conversion, every bf16, fp8 and e8m0 code decoded.
// Also checks what the kernels rely on beyond bits.h, under the Makefile's flags: f32
// + * / sqrt fma correctly rounded with subnormals kept, and the logical-warp XOR butterfly
// adding in the same tree on wave64 and warp32.
//
//   bits_device_check [--stride S]    S > 1 samples every S-th f32 pattern (a quick run)
//
// Exit 0: all equal. Exit 1: a mismatch (the first few are printed field by field).
#include <ulpwise/bits.h>
#include <ulpwise/compat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace ulpwise;

// Loops run over the enumerators by value (declaration order in bits.h): a namespace-scope
// array of them could not be read from device code.
constexpr int kFp8Formats = 4, kFp8Saturations = 2, kE8m0Roundings = 3;
constexpr int kMaxReported = 8;

// ---- conversions of one f32 pattern --------------------------------------------------------

struct Conversions {
  uint16_t bf16[2];           // rne, truncate
  uint8_t fp8[kFp8Formats][kFp8Saturations];
  uint32_t e8m0Rounded[kE8m0Roundings];  // ceil, floor, rne
  uint32_t e8m0CodeOfRounded[kE8m0Roundings];
  uint32_t e8m0CodeOfInput;
};
static_assert(sizeof(Conversions) == 40, "Conversions is compared with memcmp: no padding");

ULPWISE_HD Conversions convert(uint32_t bits) {
  Conversions c;
  c.bf16[0] = bf16FromF32Bits(bits, Bf16Rounding::rne);
  c.bf16[1] = bf16FromF32Bits(bits, Bf16Rounding::truncate);
  for (int f = 0; f < kFp8Formats; f++) {
    for (int s = 0; s < kFp8Saturations; s++) {
      c.fp8[f][s] = fp8FromF32Bits(bits, static_cast<Fp8Format>(f), static_cast<Fp8Saturation>(s));
    }
  }
  for (int m = 0; m < kE8m0Roundings; m++) {
    c.e8m0Rounded[m] = roundToPowerOfTwo(bits, static_cast<E8m0Rounding>(m));
    c.e8m0CodeOfRounded[m] = e8m0FromPowerOfTwoBits(c.e8m0Rounded[m]);
  }
  c.e8m0CodeOfInput = e8m0FromPowerOfTwoBits(bits);
  return c;
}

__global__ void convertKernel(uint64_t first, uint64_t stride, uint32_t count, Conversions* out) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) out[i] = convert(static_cast<uint32_t>(first + i * stride));
}

// ---- decodes of every code ------------------------------------------------------------------

constexpr uint32_t kBf16Codes = 1u << 16;
constexpr uint32_t kDecodes = kBf16Codes + kFp8Formats * 256 + 256;

/** Index -> decoded f32 bits: [0, 65536) bf16, then 256 codes of each fp8 format, then e8m0. */
ULPWISE_HD uint32_t decodeByIndex(uint32_t index) {
  if (index < kBf16Codes) return f32BitsFromBf16(static_cast<uint16_t>(index));
  index -= kBf16Codes;
  if (index < kFp8Formats * 256) return f32BitsFromFp8(static_cast<uint8_t>(index & 0xffu), static_cast<Fp8Format>(index >> 8));
  return f32BitsFromE8m0(static_cast<uint8_t>(index - kFp8Formats * 256));
}

__global__ void decodeKernel(uint32_t* out) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < kDecodes) out[i] = decodeByIndex(i);
}

// ---- f32 arithmetic -------------------------------------------------------------------------

constexpr int kArithmeticOps = 5;
const char* const ARITHMETIC_OP_NAMES[kArithmeticOps] = {"a+b", "a*b", "a/b", "sqrt(a)", "fma(a,b,c)"};

struct Operands {
  uint32_t a, b, c;
};

ULPWISE_HD void arithmetic(Operands in, uint32_t out[kArithmeticOps]) {
  const float a = f32FromBits(in.a), b = f32FromBits(in.b), c = f32FromBits(in.c);
  out[0] = bitsFromF32(a + b);
  out[1] = bitsFromF32(a * b);
  out[2] = bitsFromF32(a / b);
  out[3] = bitsFromF32(sqrtf(a));
  out[4] = bitsFromF32(fmaf(a, b, c));
}

__global__ void arithmeticKernel(const Operands* in, uint32_t count, uint32_t* out) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) arithmetic(in[i], out + static_cast<size_t>(i) * kArithmeticOps);
}

// ---- butterfly ------------------------------------------------------------------------------

constexpr int kButterflyBlock = 256;  // 8 logical warps: 4 waves on wave64, 8 warps on warp32
constexpr int kButterflyWidths[] = {32, 8};

__global__ void butterflyKernel(const float* in, float* out32, float* out8) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  out32[i] = xorButterfly<32>(in[i], F32Add{});
  out8[i] = xorButterfly<8>(in[i], F32Add{});
}

// ---- host side ------------------------------------------------------------------------------

/** splitmix64: a fixed seed gives the same inputs on every run and machine. */
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }

 private:
  uint64_t state_;
};

/** Half uniform bit patterns (NaN payloads, subnormals, huge); half with an exponent near
 *  the subnormal boundary, near 1, or near overflow, where rounding and flushing differ. */
uint32_t interestingF32(Random& random) {
  const uint32_t bits = static_cast<uint32_t>(random.next());
  if (random.below(2) == 0) return bits;
  const uint32_t centres[] = {0, 24, 127, 230, 254};
  const int field = static_cast<int>(centres[random.below(5)]) + static_cast<int>(random.below(25)) - 12;
  const uint32_t exponentField = static_cast<uint32_t>(std::min(254, std::max(0, field)));
  return (bits & 0x807fffffu) | (exponentField << 23);
}

bool sameF32(uint32_t x, uint32_t y) { return x == y || (isNanBits(x) && isNanBits(y)); }

std::string hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

void describeConversionMismatch(uint32_t bits, const Conversions& host, const Conversions& device) {
  std::fprintf(stderr, "  input %s:\n", hex(bits).c_str());
  const char* roundings[] = {"rne", "truncate"};
  for (int r = 0; r < 2; r++) {
    if (host.bf16[r] != device.bf16[r]) {
      std::fprintf(stderr, "    bf16 %s: host 0x%04x device 0x%04x\n", roundings[r], host.bf16[r], device.bf16[r]);
    }
  }
  const char* formats[] = {"e4m3fn", "e4m3fnuz", "e5m2", "e5m2fnuz"};
  const char* saturations[] = {"satfinite", "overflow"};
  for (int f = 0; f < kFp8Formats; f++) {
    for (int s = 0; s < kFp8Saturations; s++) {
      if (host.fp8[f][s] != device.fp8[f][s]) {
        std::fprintf(stderr, "    fp8 %s %s: host 0x%02x device 0x%02x\n", formats[f], saturations[s], host.fp8[f][s],
                     device.fp8[f][s]);
      }
    }
  }
  const char* modes[] = {"ceil", "floor", "rne"};
  for (int m = 0; m < kE8m0Roundings; m++) {
    if (host.e8m0Rounded[m] != device.e8m0Rounded[m]) {
      std::fprintf(stderr, "    roundToPowerOfTwo %s: host %s device %s\n", modes[m], hex(host.e8m0Rounded[m]).c_str(),
                   hex(device.e8m0Rounded[m]).c_str());
    }
    if (host.e8m0CodeOfRounded[m] != device.e8m0CodeOfRounded[m]) {
      std::fprintf(stderr, "    e8m0 code of %s: host %u device %u\n", modes[m], host.e8m0CodeOfRounded[m],
                   device.e8m0CodeOfRounded[m]);
    }
  }
  if (host.e8m0CodeOfInput != device.e8m0CodeOfInput) {
    std::fprintf(stderr, "    e8m0 code of input: host %u device %u\n", host.e8m0CodeOfInput, device.e8m0CodeOfInput);
  }
}

/** Splits [0, count) across the host's cores. */
template <typename Work>
void parallelFor(size_t count, Work work) {
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t per = (count + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (size_t begin = 0; begin < count; begin += per) {
    pool.emplace_back([=] { work(begin, std::min(count, begin + per)); });
  }
  for (std::thread& thread : pool) thread.join();
}

uint32_t blocksFor(uint64_t count, uint32_t block) { return static_cast<uint32_t>((count + block - 1) / block); }

/** Every f32 pattern (or every stride-th), in chunks. Returns the number of mismatching inputs. */
uint64_t checkConversions(uint64_t stride) {
  constexpr uint32_t kChunk = 1u << 24;
  const uint64_t total = ((1ull << 32) + stride - 1) / stride;
  Conversions* deviceOut;
  HIP_CHECK(hipMalloc(&deviceOut, kChunk * sizeof(Conversions)));
  std::vector<Conversions> fromDevice(kChunk);
  uint64_t mismatches = 0;
  int reported = 0;
  std::mutex reportLock;
  for (uint64_t done = 0; done < total; done += kChunk) {
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kChunk, total - done));
    const uint64_t first = done * stride;
    hipLaunchKernelGGL(convertKernel, dim3(blocksFor(count, 256)), dim3(256), 0, nullptr, first, stride, count, deviceOut);
    HIP_CHECK_LAUNCH();
    HIP_CHECK(hipMemcpy(fromDevice.data(), deviceOut, count * sizeof(Conversions), hipMemcpyDeviceToHost));
    parallelFor(count, [&](size_t begin, size_t end) {
      uint64_t local = 0;
      for (size_t i = begin; i < end; i++) {
        const uint32_t bits = static_cast<uint32_t>(first + i * stride);
        const Conversions host = convert(bits);
        if (std::memcmp(&host, &fromDevice[i], sizeof host) == 0) continue;
        local++;
        std::lock_guard<std::mutex> guard(reportLock);
        if (reported++ < kMaxReported) describeConversionMismatch(bits, host, fromDevice[i]);
      }
      std::lock_guard<std::mutex> guard(reportLock);
      mismatches += local;
    });
  }
  HIP_CHECK(hipFree(deviceOut));
  std::printf("conversions: %llu f32 patterns (stride %llu), %llu mismatching\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(stride),
              static_cast<unsigned long long>(mismatches));
  return mismatches;
}

uint64_t checkDecodes() {
  uint32_t* deviceOut;
  HIP_CHECK(hipMalloc(&deviceOut, kDecodes * sizeof(uint32_t)));
  hipLaunchKernelGGL(decodeKernel, dim3(blocksFor(kDecodes, 256)), dim3(256), 0, nullptr, deviceOut);
  HIP_CHECK_LAUNCH();
  std::vector<uint32_t> fromDevice(kDecodes);
  HIP_CHECK(hipMemcpy(fromDevice.data(), deviceOut, kDecodes * sizeof(uint32_t), hipMemcpyDeviceToHost));
  HIP_CHECK(hipFree(deviceOut));
  uint64_t mismatches = 0;
  for (uint32_t i = 0; i < kDecodes; i++) {
    const uint32_t host = decodeByIndex(i);
    if (host == fromDevice[i]) continue;
    if (mismatches++ < kMaxReported) {
      std::fprintf(stderr, "  decode index %u: host %s device %s\n", i, hex(host).c_str(), hex(fromDevice[i]).c_str());
    }
  }
  std::printf("decodes: %u codes (bf16, fp8 x4, e8m0), %llu mismatching\n", kDecodes,
              static_cast<unsigned long long>(mismatches));
  return mismatches;
}

uint64_t checkArithmetic() {
  constexpr uint32_t kCount = 1u << 24;
  Random random(0x0a11ce5eedull);
  std::vector<Operands> inputs(kCount);
  for (Operands& operands : inputs) operands = {interestingF32(random), interestingF32(random), interestingF32(random)};
  Operands* deviceIn;
  uint32_t* deviceOut;
  HIP_CHECK(hipMalloc(&deviceIn, kCount * sizeof(Operands)));
  HIP_CHECK(hipMalloc(&deviceOut, static_cast<size_t>(kCount) * kArithmeticOps * sizeof(uint32_t)));
  HIP_CHECK(hipMemcpy(deviceIn, inputs.data(), kCount * sizeof(Operands), hipMemcpyHostToDevice));
  hipLaunchKernelGGL(arithmeticKernel, dim3(blocksFor(kCount, 256)), dim3(256), 0, nullptr, deviceIn, kCount, deviceOut);
  HIP_CHECK_LAUNCH();
  std::vector<uint32_t> fromDevice(static_cast<size_t>(kCount) * kArithmeticOps);
  HIP_CHECK(hipMemcpy(fromDevice.data(), deviceOut, fromDevice.size() * sizeof(uint32_t), hipMemcpyDeviceToHost));
  HIP_CHECK(hipFree(deviceIn));
  HIP_CHECK(hipFree(deviceOut));
  uint64_t perOp[kArithmeticOps] = {};
  int reported = 0;
  for (uint32_t i = 0; i < kCount; i++) {
    uint32_t host[kArithmeticOps];
    arithmetic(inputs[i], host);
    for (int op = 0; op < kArithmeticOps; op++) {
      const uint32_t device = fromDevice[static_cast<size_t>(i) * kArithmeticOps + op];
      if (sameF32(host[op], device)) continue;
      perOp[op]++;
      if (reported++ < kMaxReported) {
        std::fprintf(stderr, "  %s with a=%s b=%s c=%s: host %s device %s\n", ARITHMETIC_OP_NAMES[op],
                     hex(inputs[i].a).c_str(), hex(inputs[i].b).c_str(), hex(inputs[i].c).c_str(), hex(host[op]).c_str(),
                     hex(device).c_str());
      }
    }
  }
  uint64_t mismatches = 0;
  for (int op = 0; op < kArithmeticOps; op++) {
    std::printf("f32 %s: %u inputs, %llu mismatching\n", ARITHMETIC_OP_NAMES[op], kCount,
                static_cast<unsigned long long>(perOp[op]));
    mismatches += perOp[op];
  }
  return mismatches;
}

/** The tree on the host: at each stride every lane adds its partner's value (own + partner). */
std::vector<float> hostButterfly(const std::vector<float>& values, int lanes) {
  std::vector<float> current = values;
  for (int stride = lanes / 2; stride >= 1; stride /= 2) {
    std::vector<float> next(current.size());
    for (size_t i = 0; i < current.size(); i++) next[i] = current[i] + current[i ^ static_cast<size_t>(stride)];
    current = next;
  }
  return current;
}

uint64_t checkButterfly() {
  constexpr uint32_t kBlocks = 64;
  constexpr uint32_t kCount = kBlocks * kButterflyBlock;
  Random random(0xb077e7f1ull);
  // Magnitudes from 2^-10 to 2^30 with both signs (2^24 + 1 - 2^24 among them), so that a
  // different tree or order gives different bits.
  std::vector<float> values(kCount);
  for (float& value : values) {
    const int exponent = static_cast<int>(random.below(41)) - 10;
    const float mantissa = 1.0f + static_cast<float>(random.below(1u << 23)) * 0x1p-23f;
    value = std::ldexp(random.below(2) == 0 ? mantissa : -mantissa, exponent);
  }
  float *deviceIn, *deviceOut32, *deviceOut8;
  HIP_CHECK(hipMalloc(&deviceIn, kCount * sizeof(float)));
  HIP_CHECK(hipMalloc(&deviceOut32, kCount * sizeof(float)));
  HIP_CHECK(hipMalloc(&deviceOut8, kCount * sizeof(float)));
  HIP_CHECK(hipMemcpy(deviceIn, values.data(), kCount * sizeof(float), hipMemcpyHostToDevice));
  hipLaunchKernelGGL(butterflyKernel, dim3(kBlocks), dim3(kButterflyBlock), 0, nullptr, deviceIn, deviceOut32, deviceOut8);
  HIP_CHECK_LAUNCH();
  std::vector<float> fromDevice32(kCount), fromDevice8(kCount);
  HIP_CHECK(hipMemcpy(fromDevice32.data(), deviceOut32, kCount * sizeof(float), hipMemcpyDeviceToHost));
  HIP_CHECK(hipMemcpy(fromDevice8.data(), deviceOut8, kCount * sizeof(float), hipMemcpyDeviceToHost));
  HIP_CHECK(hipFree(deviceIn));
  HIP_CHECK(hipFree(deviceOut32));
  HIP_CHECK(hipFree(deviceOut8));
  // The data must tell trees apart, or a wrong tree would pass: compare with a left fold.
  const std::vector<float> tree32 = hostButterfly(values, 32);
  uint32_t groupsUnlikeFold = 0;
  for (uint32_t group = 0; group < kCount; group += 32) {
    float fold = values[group];
    for (uint32_t lane = 1; lane < 32; lane++) fold += values[group + lane];
    if (bitsFromF32(fold) != bitsFromF32(tree32[group])) groupsUnlikeFold++;
  }
  std::printf("butterfly data: %u of %u groups sum differently in a left fold\n", groupsUnlikeFold, kCount / 32);
  uint64_t mismatches = groupsUnlikeFold == 0 ? 1 : 0;
  for (int lanes : kButterflyWidths) {
    const std::vector<float> host = hostButterfly(values, lanes);
    const std::vector<float>& device = lanes == 32 ? fromDevice32 : fromDevice8;
    uint64_t local = 0;
    for (uint32_t i = 0; i < kCount; i++) {
      if (bitsFromF32(host[i]) == bitsFromF32(device[i])) continue;
      if (local++ < kMaxReported) {
        std::fprintf(stderr, "  butterfly %d lanes, thread %u: host %s device %s\n", lanes, i,
                     hex(bitsFromF32(host[i])).c_str(), hex(bitsFromF32(device[i])).c_str());
      }
    }
    std::printf("butterfly over %d lanes: %u threads, %llu mismatching\n", lanes, kCount,
                static_cast<unsigned long long>(local));
    mismatches += local;
  }
  return mismatches;
}

uint64_t parseStride(int argc, char** argv) {
  if (argc == 1) return 1;
  char* end = nullptr;
  const unsigned long long stride = argc == 3 && std::strcmp(argv[1], "--stride") == 0 ? std::strtoull(argv[2], &end, 10) : 0;
  if (stride == 0 || end == nullptr || *end != '\0') {
    std::fprintf(stderr, "usage: bits_device_check [--stride S]  (S a positive integer)\n");
    std::exit(2);
  }
  return stride;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t stride = parseStride(argc, argv);
  int device = 0;
  HIP_CHECK(hipGetDevice(&device));
  hipDeviceProp_t properties;
  HIP_CHECK(hipGetDeviceProperties(&properties, device));
  std::printf("device %d: %s, hardware warp %d lanes\n", device, properties.name, properties.warpSize);

  hipEvent_t start, stop;
  HIP_CHECK(hipEventCreate(&start));
  HIP_CHECK(hipEventCreate(&stop));
  HIP_CHECK(hipEventRecord(start, nullptr));
  const uint64_t mismatches = checkDecodes() + checkConversions(stride) + checkArithmetic() + checkButterfly();
  HIP_CHECK(hipEventRecord(stop, nullptr));
  HIP_CHECK(hipEventSynchronize(stop));
  float milliseconds = 0;
  HIP_CHECK(hipEventElapsedTime(&milliseconds, start, stop));
  HIP_CHECK(hipEventDestroy(start));
  HIP_CHECK(hipEventDestroy(stop));
  std::printf("%s: %llu mismatches in %.1f s\n", mismatches == 0 ? "PASS" : "FAIL",
              static_cast<unsigned long long>(mismatches), milliseconds / 1000.0f);
  return mismatches == 0 ? 0 : 1;
}
