// Host-side checks of the harness and kernel support code, no GPU needed (run by
// test/hip/harness.test.ts):
//
//   harness_host_check sqrt                 the kernels' integer sqrt against the host's
//                                           correctly rounded sqrtf: every subnormal, two
//                                           whole binades, the boundaries of every binade, and
//                                           16M seeded random patterns
//   harness_host_check support FILE         FILE has lines "preset<TAB>contract JSON"; prints
//                                           "preset<TAB>kernel<TAB>ok|why" for every kernel
//   harness_host_check read FILE            reads a safetensors file; prints its tensors and
//                                           metadata keys, or the error (exit 2)
//   harness_host_check roundtrip IN OUT     reads IN and writes it to OUT through the writer
#include "../kernels/contract.h"
#include "../kernels/row_math.h"
#include "../kernels/support.h"
#include "json.h"
#include "safetensors.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using namespace ulpwise;

int mismatches = 0;

void checkSqrt(uint32_t bits) {
  const uint32_t ours = sqrtF32Bits(bits);
  const uint32_t host = bitsFromF32(std::sqrt(f32FromBits(bits)));
  const bool same = ours == host || (isNanBits(ours) && isNanBits(host));
  if (!same && mismatches++ < 8) std::printf("sqrt mismatch: input 0x%08x ours 0x%08x host 0x%08x\n", bits, ours, host);
}

int sqrtCommand() {
  uint64_t checked = 0;
  for (uint32_t bits = 0; bits < 0x00800000u; bits++, checked++) checkSqrt(bits);               // +0 and subnormals
  for (uint32_t bits = 0x3f800000u; bits < 0x40800000u; bits++, checked++) checkSqrt(bits);     // [1, 4): both parities
  for (uint32_t field = 0; field < 256; field++) {
    for (const uint32_t mantissa : {0u, 1u, 2u, 0x3fffffu, 0x400000u, 0x400001u, 0x7ffffeu, 0x7fffffu}) {
      for (const uint32_t sign : {0u, 0x80000000u}) {
        checkSqrt(sign | (field << 23) | mantissa);
        checked++;
      }
    }
  }
  uint64_t state = 0x5eed5eedull;
  for (int i = 0; i < (1 << 24); i++, checked++) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    checkSqrt(static_cast<uint32_t>(z ^ (z >> 31)));
  }
  std::printf("sqrt: %llu inputs, %d mismatches\n", static_cast<unsigned long long>(checked), mismatches);
  return mismatches == 0 ? 0 : 1;
}

int supportCommand(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot open " << path << "\n";
    return 2;
  }
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string preset = line.substr(0, tab);
    std::string fused1, fused2, unfused, nccl2, ncclN;
    try {
      const Contract c = parseContract(line.substr(tab + 1));
      // The suite's shapes: hidden 4096 fits every preset (2880 is not a multiple of 128).
      fused1 = fusedUnsupported(c, 4096, false);
      fused2 = fusedUnsupported(c, 4096, true);
      unfused = unfusedUnsupported(c, 4, 4096, false);
      nccl2 = unfusedUnsupported(c, 2, 4096, true);
      ncclN = unfusedUnsupported(c, 4, 4096, true);
    } catch (const ContractUnsupported& e) {
      fused1 = fused2 = unfused = nccl2 = ncclN = e.what();
    } catch (const ContractInvalid& e) {
      fused1 = fused2 = unfused = nccl2 = ncclN = e.what();
    }
    const std::pair<const char*, const std::string*> rows[] = {
        {"aiter-1stage", &fused1}, {"aiter-2stage", &fused2}, {"unfused", &unfused}, {"unfused-nccl@2", &nccl2}, {"unfused-nccl@4", &ncclN}};
    for (const auto& [kernel, why] : rows) std::cout << preset << "\t" << kernel << "\t" << (why->empty() ? "ok" : *why) << "\n";
  }
  return 0;
}

/** A name from a file as it may be printed: escaped like a JSON string, without the quotes. */
std::string printable(const std::string& name) {
  const std::string quoted = json::quote(name);
  return quoted.substr(1, quoted.size() - 2);
}

int readCommand(const std::string& path) {
  try {
    const safetensors::File file = safetensors::read(path);
    for (const auto& t : file.tensors) {
      std::cout << "tensor " << printable(t.name) << " " << t.dtype << " [";
      for (size_t i = 0; i < t.shape.size(); i++) std::cout << (i ? "," : "") << t.shape[i];
      std::cout << "] " << t.data.size() << "\n";
    }
    for (const auto& m : file.metadata) std::cout << "metadata " << printable(m.first) << "\n";
    return 0;
  } catch (const safetensors::FormatError& e) {
    std::cout << "error " << e.what() << "\n";
    return 2;
  }
}

int roundtripCommand(const std::string& in, const std::string& out) {
  try {
    safetensors::write(out, safetensors::read(in));
    return 0;
  } catch (const safetensors::FormatError& e) {
    std::cout << "error " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "sqrt" && argc == 2) return sqrtCommand();
  if (command == "support" && argc == 3) return supportCommand(argv[2]);
  if (command == "read" && argc == 3) return readCommand(argv[2]);
  if (command == "roundtrip" && argc == 4) return roundtripCommand(argv[2], argv[3]);
  std::cerr << "usage: harness_host_check sqrt | support FILE | read FILE | roundtrip IN OUT\n";
  return 2;
}
