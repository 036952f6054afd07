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
//   harness_host_check halving GOLDEN...    the 2-stage smem-halving kernel's arithmetic on the
//                                           host (row_math.h, tests/halving_model.h) against
//                                           each golden's out.residual and out.norm, bit for bit
#include "../kernels/contract.h"
#include "../kernels/row_math.h"
#include "../kernels/support.h"
#include "../tests/halving_model.h"
#include "json.h"
#include "safetensors.h"

#include <algorithm>
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

uint16_t bf16At(const safetensors::Tensor& t, size_t i) { return static_cast<uint16_t>(t.data[2 * i] | (t.data[2 * i + 1] << 8)); }

uint32_t u32At(const safetensors::Tensor& t, size_t i) {
  return t.data[4 * i] | (t.data[4 * i + 1] << 8) | (t.data[4 * i + 2] << 16) | (static_cast<uint32_t>(t.data[4 * i + 3]) << 24);
}

/**
 * One golden through the 2-stage kernel's smem-halving path, step by step as
 * kernels/fused_allreduce_norm.hip runs it: the reduce-scatter's natural-order sum rounded to
 * bf16 (allReduceResult), x = residualAdd + normInput, the row's sum of squares by the aiter
 * model (tests/halving_model.h, whose per-thread loop is the kernel's), rstdOf, normalize, the
 * normOut downcast. Prints "halving FILE: N elements bit-exact" or the first mismatches.
 */
int halvingGolden(const std::string& path) {
  const safetensors::File file = safetensors::read(path);
  const std::string* contractJson = file.metadataValue("ulpwise.contract");
  if (contractJson == nullptr) throw std::runtime_error(path + ": no ulpwise.contract");
  const Contract c = parseContract(*contractJson);
  if (c.norm.tree != SumTree::smemHalving || c.quant.enabled) throw std::runtime_error(path + ": not a norm-only smem-halving contract");
  std::vector<const safetensors::Tensor*> inputs;
  while (const safetensors::Tensor* t = file.find("rank" + std::to_string(inputs.size()) + ".input")) inputs.push_back(t);
  const safetensors::Tensor* residual = file.find("residual");
  const safetensors::Tensor* weight = file.find("weight");
  const safetensors::Tensor* outResidual = file.find("out.residual");
  const safetensors::Tensor* outNorm = file.find("out.norm");
  if (inputs.empty() || weight == nullptr || outNorm == nullptr || (c.norm.hasResidual && (residual == nullptr || outResidual == nullptr))) {
    throw std::runtime_error(path + ": missing tensors");
  }
  const int ranks = static_cast<int>(inputs.size());
  if (ranks > kMaxRanks) throw std::runtime_error(path + ": more than " + std::to_string(kMaxRanks) + " ranks");
  const int tokens = static_cast<int>(inputs[0]->shape[0]);
  const int hidden = static_cast<int>(inputs[0]->shape[1]);
  const bool flush = c.flushSubnormals;
  const std::string why = fusedUnsupported(c, hidden, true);
  if (!why.empty()) throw std::runtime_error(path + ": aiter-2stage declines it: " + why);
  long mismatched = 0;
  std::vector<float> x(hidden);
  for (int m = 0; m < tokens; m++) {
    for (int h = 0; h < hidden; h++) {
      const size_t i = static_cast<size_t>(m) * hidden + h;
      float values[kMaxRanks] = {};
      for (int r = 0; r < ranks; r++) values[r] = bf16ToF32(bf16At(*inputs[r], i));
      float v = bf16ToF32(f32ToBf16(allReduce(values, ranks, c), c.bf16Rounding.allReduceResult));
      if (c.norm.hasResidual) {
        v = residualAdd(v, bf16ToF32(bf16At(*residual, i)), c);
        const uint16_t got = f32ToBf16(v, c.bf16Rounding.residualOut);
        const uint16_t golden = bf16At(*outResidual, i);
        if (got != golden && mismatched++ < 4) std::printf("out.residual [%d,%d]: 0x%04x, golden 0x%04x\n", m, h, got, golden);
      }
      x[h] = normInput(v, c);
    }
    const float rowRstd = rstdOf(halvingModel(x, c.norm.halvingBlock, c.norm.perThread, flush), hidden, c);
    for (int h = 0; h < hidden; h++) {
      const size_t i = static_cast<size_t>(m) * hidden + h;
      const float w = effectiveWeight(weight->dtype == "F32" ? f32FromBits(u32At(*weight, h)) : bf16ToF32(bf16At(*weight, h)), c.norm, flush);
      const uint16_t got = f32ToBf16(normalize(x[h], rowRstd, w, c), c.bf16Rounding.normOut);
      if (got != bf16At(*outNorm, i) && mismatched++ < 4) std::printf("out.norm [%d,%d]: 0x%04x, golden 0x%04x\n", m, h, got, bf16At(*outNorm, i));
    }
  }
  const long elements = static_cast<long>(tokens) * hidden * (c.norm.hasResidual ? 2 : 1);
  std::printf("halving %s: %ld of %ld elements bit-exact (%d ranks, tnum %d)\n", path.c_str(), elements - mismatched, elements, ranks, c.norm.halvingBlock);
  return mismatched == 0 ? 0 : 1;
}

int halvingCommand(int count, char** paths) {
  int status = 0;
  for (int i = 0; i < count; i++) {
    try {
      status = std::max(status, halvingGolden(paths[i]));
    } catch (const std::exception& e) {
      std::printf("error %s\n", e.what());
      status = 2;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "sqrt" && argc == 2) return sqrtCommand();
  if (command == "support" && argc == 3) return supportCommand(argv[2]);
  if (command == "read" && argc == 3) return readCommand(argv[2]);
  if (command == "roundtrip" && argc == 4) return roundtripCommand(argv[2], argv[3]);
  if (command == "halving" && argc >= 3) return halvingCommand(argc - 2, argv + 2);
  std::cerr << "usage: harness_host_check sqrt | support FILE | read FILE | roundtrip IN OUT | halving GOLDEN...\n";
  return 2;
}
