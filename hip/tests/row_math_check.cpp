// The f32 operations of bits.h and the per-thread sum of squares of row_math.h, compiled for the
// host (run by test/hip/rowMath.test.ts):
//
//   row_math_check           fixed inputs, expectations derived by hand in the test: prints
//                            "name hex" per line, f32 results as their bits
//   row_math_check halving   a host model of aiter's local_device_load_rmsnorm sum of squares
//                            (the 2-stage kernel's smem-halving tree): reads lines
//                            "PATTERN keep|flush BLOCKSIZE HEX..." (the row's f32 norm inputs as
//                            bits, a multiple of 8) and prints the row's sum of squares as hex
#include "../kernels/row_math.h"
#include "halving_model.h"

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace ulpwise;

void print(const char* name, float value) { std::printf("%s %08x\n", name, bitsFromF32(value)); }

float f(uint32_t bits) { return f32FromBits(bits); }

float squares(PerThreadPattern pattern, bool flush, std::initializer_list<uint32_t> values, int runLength = 0) {
  ThreadSquares sum(pattern, flush, runLength == 0 ? static_cast<int>(values.size()) : runLength);
  for (const uint32_t v : values) sum.add(f(v));
  return sum.sum();
}

int halvingCommand() {
  const char* const names[] = {"chain", "fma-chain", "pair", "pair-fma"};
  const PerThreadPattern patterns[] = {PerThreadPattern::chain, PerThreadPattern::fmaChain, PerThreadPattern::pair, PerThreadPattern::pairFma};
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string name, subnormals;
    int tnum = 0;
    in >> name >> subnormals >> tnum;
    int pattern = -1;
    for (int i = 0; i < 4; i++) {
      if (name == names[i]) pattern = i;
    }
    if (pattern < 0 || (subnormals != "keep" && subnormals != "flush") || tnum < 64 || tnum > kMaxBlockThreads || (tnum & (tnum - 1)) != 0) {
      std::cerr << "row_math_check halving: bad line: " << line.substr(0, 80) << "\n";
      return 2;
    }
    std::vector<float> x;
    std::string word;
    while (in >> word) x.push_back(f(static_cast<uint32_t>(std::stoul(word, nullptr, 16))));
    if (x.empty() || x.size() % kPackElems != 0) {
      std::cerr << "row_math_check halving: a row is whole packs of " << kPackElems << " values\n";
      return 2;
    }
    print("sumsq", halvingModel(x, tnum, patterns[pattern], subnormals == "flush"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "halving") == 0) return halvingCommand();
  if (argc != 1) {
    std::cerr << "usage: row_math_check [halving]\n";
    return 2;
  }
  print("flush.subnormal", flushSubnormal(f(0x00000001u)));
  print("flush.negativeSubnormal", flushSubnormal(f(0x807fffffu)));
  print("flush.minNormal", flushSubnormal(f(0x00800000u)));
  // 2^-126 + (-2^-127): the subnormal operand is read as -0 under flush.
  print("add.keep", addF32(f(0x00800000u), f(0x80400000u), false));
  print("add.flush", addF32(f(0x00800000u), f(0x80400000u), true));
  // 1.5*2^-126 - 2^-126 = 2^-127, a subnormal result.
  print("add.subnormalResult.keep", addF32(f(0x00c00000u), f(0x80800000u), false));
  print("add.subnormalResult.flush", addF32(f(0x00c00000u), f(0x80800000u), true));
  // 2^-63 * 2^-64 = 2^-127.
  print("mul.keep", mulF32(f(0x20000000u), f(0x1f800000u), false));
  print("mul.flush", mulF32(f(0x20000000u), f(0x1f800000u), true));
  // (1 + 2^-12)^2 - 1: one rounding (fma) or two (mul, add).
  print("fma", fmaF32(f(0x3f800800u), f(0x3f800800u), f(0xbf800000u), false));
  print("mulAdd", addF32(mulF32(f(0x3f800800u), f(0x3f800800u), false), f(0xbf800000u), false));
  // 1 / 2^-127 with the subnormal divisor flushed: 1 / 0 = +Inf.
  print("div.keep", divF32(f(0x3f800000u), f(0x00400000u), false));
  print("div.flush", divF32(f(0x3f800000u), f(0x00400000u), true));
  // Sums of squares: 2^-12 = 0x39800000, 1 + 2^-12 = 0x3f800800, 1 = 0x3f800000.
  const PerThreadPattern patterns[] = {PerThreadPattern::chain, PerThreadPattern::fmaChain, PerThreadPattern::pair, PerThreadPattern::pairFma};
  const char* const names[] = {"chain", "fma-chain", "pair", "pair-fma"};
  for (int i = 0; i < 4; i++) {
    char name[64];
    std::snprintf(name, sizeof name, "squares.%s.small-first", names[i]);
    print(name, squares(patterns[i], false, {0x39800000u, 0x3f800800u}));
    std::snprintf(name, sizeof name, "squares.%s.large-first", names[i]);
    print(name, squares(patterns[i], false, {0x3f800800u, 0x39800000u}));
    std::snprintf(name, sizeof name, "squares.%s.one-then-three-small", names[i]);
    print(name, squares(patterns[i], false, {0x3f800000u, 0x39800000u, 0x39800000u, 0x39800000u}));
    // 2^-64 squared is 2^-128, subnormal: gone under flush.
    std::snprintf(name, sizeof name, "squares.%s.subnormal-square.flush", names[i]);
    print(name, squares(patterns[i], true, {0x1f800000u, 0x1f800000u}));
    std::snprintf(name, sizeof name, "squares.%s.subnormal-square.keep", names[i]);
    print(name, squares(patterns[i], false, {0x1f800000u, 0x1f800000u}));
    // [1, 0, 2^-12, 0 | 2^-12, 0, 2^-12, 0] as one run of 8, or two runs of 4 each summed from 0
    // and then added to the thread's sum.
    std::snprintf(name, sizeof name, "squares.%s.one-run-of-eight", names[i]);
    print(name, squares(patterns[i], false, {0x3f800000u, 0u, 0x39800000u, 0u, 0x39800000u, 0u, 0x39800000u, 0u}, 8));
    std::snprintf(name, sizeof name, "squares.%s.runs-of-four", names[i]);
    print(name, squares(patterns[i], false, {0x3f800000u, 0u, 0x39800000u, 0u, 0x39800000u, 0u, 0x39800000u, 0u}, 4));
  }
  return 0;
}
