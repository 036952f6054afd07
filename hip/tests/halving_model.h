// A host model of the row's sum of squares in aiter's local_device_load_rmsnorm (the HIP 2-stage
// kernel's smem-halving tree), written from the aiter source: used by tests/row_math_check.cpp
// (against the CPU engine's plan) and harness/host_check.cpp (whole goldens). Host only.
#ifndef ULPWISE_TESTS_HALVING_MODEL_H
#define ULPWISE_TESTS_HALVING_MODEL_H

#include "../kernels/row_math.h"

#include <initializer_list>
#include <vector>

namespace ulpwise {

/**
 * The row's sum of squares as local_device_load_rmsnorm computes it (ROCm/aiter@e4048607
 * csrc/include/custom_all_reduce.cuh), thread by thread: each thread's square_sum over packs t,
 * t + tnum, .. (:1468-1492, halvingThreadSquares: the code the 2-stage kernel runs), stored to
 * smem[t] (:1494); then smemReduceSum<tnum> (:1342-1370) transcribed with the wave's lanes
 * simulated: for stride = tnum/2 while stride > 32, threads t < stride add smem[t + stride]
 * (a barrier between strides, so each stride reads the previous one's results); then the 32
 * threads t < 32 run the six volatile statements `v_smem[t] += v_smem[t + s]`, s = 32, 16, .., 1,
 * in the lock step of one wave: every lane reads before any lane writes, all 32 lanes (also
 * those past s, whose sums nobody reads). The result is smem[0] (:1496).
 */
inline float halvingModel(const std::vector<float>& x, int tnum, PerThreadPattern pattern, bool flush) {
  const int packs = static_cast<int>(x.size()) / kPackElems;
  std::vector<float> smem(tnum);
  for (int t = 0; t < tnum; t++) {
    smem[t] = halvingThreadSquares(t, packs, tnum, pattern, flush, [&](int p, float (&values)[kPackElems]) {
      for (int k = 0; k < kPackElems; k++) values[k] = x[p * kPackElems + k];
    });
  }
  for (int stride = tnum / 2; stride > 32; stride >>= 1) {
    for (int t = 0; t < tnum; t++) {
      if (t < stride) smem[t] = addF32(smem[t], smem[t + stride], flush);
    }
  }
  for (const int stride : {32, 16, 8, 4, 2, 1}) {
    float read[32];
    for (int t = 0; t < 32; t++) read[t] = smem[t + stride];
    for (int t = 0; t < 32; t++) smem[t] = addF32(smem[t], read[t], flush);
  }
  return smem[0];
}

}  // namespace ulpwise

#endif  // ULPWISE_TESTS_HALVING_MODEL_H
