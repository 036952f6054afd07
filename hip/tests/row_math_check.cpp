// The f32 operations of bits.h and the per-thread sum of squares of row_math.h on fixed inputs,
// compiled for the host (run by test/hip/rowMath.test.ts, whose expectations are derived by
// hand): prints "name hex" per line, f32 results as their bits.
#include "../kernels/row_math.h"

#include <cstdio>
#include <initializer_list>

namespace {

using namespace ulpwise;

void print(const char* name, float value) { std::printf("%s %08x\n", name, bitsFromF32(value)); }

float f(uint32_t bits) { return f32FromBits(bits); }

float squares(PerThreadPattern pattern, bool flush, std::initializer_list<uint32_t> values, int runLength = 0) {
  ThreadSquares sum(pattern, flush, runLength == 0 ? static_cast<int>(values.size()) : runLength);
  for (const uint32_t v : values) sum.add(f(v));
  return sum.sum();
}

}  // namespace

int main() {
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
