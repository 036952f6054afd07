// The sm_90 hardware-op slots of kernels/row_math.h alone, one kernel each, built to a cubin
// for `make sass-check` (tests/sm90_slots_sass.py reads its SASS): what ptxas makes of the
// inline PTX the kernels run for hardwareOps 'sm90' and 'sm90-div-full'. Never launched.
#include "../kernels/row_math.h"

namespace {
__device__ constexpr ulpwise::HardwareOpsContract kRsqrt{true, false, false};
__device__ constexpr ulpwise::HardwareOpsContract kReciprocal{false, true, false};
__device__ constexpr ulpwise::HardwareOpsContract kDivide{false, false, true};
}  // namespace

extern "C" __global__ void rsqrtSlotKeep(const float* x, float* y) { y[threadIdx.x] = ulpwise::rsqrtSlot(x[threadIdx.x], kRsqrt, false); }
extern "C" __global__ void rsqrtSlotFtz(const float* x, float* y) { y[threadIdx.x] = ulpwise::rsqrtSlot(x[threadIdx.x], kRsqrt, true); }
extern "C" __global__ void reciprocalSlotKeep(const float* x, float* y) { y[threadIdx.x] = ulpwise::reciprocalSlot(x[threadIdx.x], kReciprocal, false); }
extern "C" __global__ void reciprocalSlotFtz(const float* x, float* y) { y[threadIdx.x] = ulpwise::reciprocalSlot(x[threadIdx.x], kReciprocal, true); }
extern "C" __global__ void divideSlotKeep(const float* a, const float* b, float* y) {
  y[threadIdx.x] = ulpwise::divideSlot(a[threadIdx.x], b[threadIdx.x], kDivide, false);
}
extern "C" __global__ void divideSlotFtz(const float* a, const float* b, float* y) {
  y[threadIdx.x] = ulpwise::divideSlot(a[threadIdx.x], b[threadIdx.x], kDivide, true);
}
