// Runs bits.h on the host and writes every result to a binary file, which
// test/hip/bits.test.ts compares bit for bit against src/numerics.
//
//   bits_host_check INPUTS OUTPUT
//
// INPUTS: f32 bit patterns, uint32 little-endian. OUTPUT (little-endian, written to OUTPUT.tmp
// and renamed): the sections below, in this order, each padded to a multiple of 8 bytes.
//   header          "ULPWBIT1", uint32 input count, uint32 0
//   fp8 traits      4 formats x 8 uint32: exponentBits, mantissaBits, bias, hasInfinity, fnuz,
//                   maxFiniteCode, nanCode, bits of maxFinite
//   bf16 decode     65536 uint32: f32BitsFromBf16(p)
//   bf16 near       65536 x 6 lows x 2 roundings uint16: bf16FromF32Bits((p << 16) | low, r)
//   fp8 decode      4 formats x 256 uint32
//   e8m0 decode     256 uint32
//   per input, one array each: bf16 rne, bf16 truncate (uint16); fp8 format x saturation
//   (uint8, 8 arrays); roundToPowerOfTwo ceil, floor, rne (uint32); e8m0FromPowerOfTwoBits of
//   each of those three (uint32); e8m0FromPowerOfTwoBits of the input itself (uint32).
#include <ulpwise/bits.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace ulpwise;

constexpr Fp8Format FP8_FORMATS[] = {Fp8Format::e4m3fn, Fp8Format::e4m3fnuz, Fp8Format::e5m2, Fp8Format::e5m2fnuz};
constexpr Fp8Saturation FP8_SATURATIONS[] = {Fp8Saturation::satfinite, Fp8Saturation::overflow};
constexpr Bf16Rounding BF16_ROUNDINGS[] = {Bf16Rounding::rne, Bf16Rounding::truncate};
constexpr E8m0Rounding E8M0_ROUNDINGS[] = {E8m0Rounding::ceil, E8m0Rounding::floor, E8m0Rounding::rne};
// Low halves that put an f32 exactly on, just past, and around a bf16 rounding boundary.
constexpr uint32_t BF16_NEAR_LOWS[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "bits_host_check: %s\n", message.c_str());
  std::exit(1);
}

class Output {
 public:
  template <typename T>
  void append(const std::vector<T>& values) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
    bytes_.insert(bytes_.end(), bytes, bytes + values.size() * sizeof(T));
    bytes_.resize((bytes_.size() + 7) / 8 * 8, 0);
  }

  void writeAtomically(const std::string& path) const {
    const std::string temp = path + ".tmp";
    std::FILE* file = std::fopen(temp.c_str(), "wb");
    if (file == nullptr) fail("cannot open " + temp + " for writing");
    const bool written = std::fwrite(bytes_.data(), 1, bytes_.size(), file) == bytes_.size();
    if (std::fclose(file) != 0 || !written) fail("cannot write " + temp);
    if (std::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename " + temp + " to " + path);
  }

 private:
  std::vector<unsigned char> bytes_;
};

std::vector<uint32_t> readInputs(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) fail("cannot open inputs " + path);
  std::vector<uint32_t> inputs;
  uint32_t chunk[4096];
  size_t read;
  while ((read = std::fread(chunk, 1, sizeof chunk, file)) > 0) {
    if (read % sizeof(uint32_t) != 0) fail("inputs " + path + " is not a whole number of uint32");
    inputs.insert(inputs.end(), chunk, chunk + read / sizeof(uint32_t));
  }
  std::fclose(file);
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  static_assert(sizeof(float) == 4, "f32 must be 4 bytes");
  const uint32_t endianProbe = 1;
  unsigned char firstByte;
  std::memcpy(&firstByte, &endianProbe, 1);
  if (firstByte != 1) fail("the output format is little-endian; this host is not");
  if (argc != 3) fail("usage: bits_host_check INPUTS OUTPUT");
  const std::vector<uint32_t> inputs = readInputs(argv[1]);
  const size_t n = inputs.size();

  Output out;
  out.append(std::vector<uint32_t>{0x57504c55u, 0x31544942u, static_cast<uint32_t>(n), 0});  // "ULPWBIT1"

  std::vector<uint32_t> traits;
  for (Fp8Format format : FP8_FORMATS) {
    const Fp8Traits t = fp8Traits(format);
    traits.insert(traits.end(), {static_cast<uint32_t>(t.exponentBits), static_cast<uint32_t>(t.mantissaBits),
                                 static_cast<uint32_t>(t.bias), t.hasInfinity ? 1u : 0u, t.fnuz ? 1u : 0u,
                                 t.maxFiniteCode, t.nanCode, bitsFromF32(t.maxFinite)});
  }
  out.append(traits);

  std::vector<uint32_t> bf16Decode(1u << 16);
  std::vector<uint16_t> bf16Near;
  for (uint32_t p = 0; p < (1u << 16); p++) {
    bf16Decode[p] = f32BitsFromBf16(static_cast<uint16_t>(p));
    for (uint32_t low : BF16_NEAR_LOWS) {
      for (Bf16Rounding rounding : BF16_ROUNDINGS) bf16Near.push_back(bf16FromF32Bits((p << 16) | low, rounding));
    }
  }
  out.append(bf16Decode);
  out.append(bf16Near);

  std::vector<uint32_t> fp8Decode;
  for (Fp8Format format : FP8_FORMATS) {
    for (uint32_t code = 0; code < 256; code++) fp8Decode.push_back(f32BitsFromFp8(static_cast<uint8_t>(code), format));
  }
  out.append(fp8Decode);

  std::vector<uint32_t> e8m0Decode;
  for (uint32_t code = 0; code < 256; code++) e8m0Decode.push_back(f32BitsFromE8m0(static_cast<uint8_t>(code)));
  out.append(e8m0Decode);

  for (Bf16Rounding rounding : BF16_ROUNDINGS) {
    std::vector<uint16_t> column(n);
    for (size_t i = 0; i < n; i++) column[i] = bf16FromF32Bits(inputs[i], rounding);
    out.append(column);
  }
  for (Fp8Format format : FP8_FORMATS) {
    for (Fp8Saturation saturation : FP8_SATURATIONS) {
      std::vector<uint8_t> column(n);
      for (size_t i = 0; i < n; i++) column[i] = fp8FromF32Bits(inputs[i], format, saturation);
      out.append(column);
    }
  }
  std::vector<std::vector<uint32_t>> rounded;
  for (E8m0Rounding mode : E8M0_ROUNDINGS) {
    std::vector<uint32_t> column(n);
    for (size_t i = 0; i < n; i++) column[i] = roundToPowerOfTwo(inputs[i], mode);
    out.append(column);
    rounded.push_back(std::move(column));
  }
  for (const std::vector<uint32_t>& powers : rounded) {
    std::vector<uint32_t> column(n);
    for (size_t i = 0; i < n; i++) column[i] = e8m0FromPowerOfTwoBits(powers[i]);
    out.append(column);
  }
  std::vector<uint32_t> codesOfInputs(n);
  for (size_t i = 0; i < n; i++) codesOfInputs[i] = e8m0FromPowerOfTwoBits(inputs[i]);
  out.append(codesOfInputs);

  out.writeAtomically(argv[2]);
  return 0;
}
