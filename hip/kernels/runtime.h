// Error handling for kernel-library code: HIP failures become exceptions, so an ABI entry point
// can return them as ULPWISE_ERROR instead of ending the harness's process. Runtime names come
// from ulpwise/compat.h (a name missing there fails the nvcc build).
#ifndef ULPWISE_KERNELS_RUNTIME_H
#define ULPWISE_KERNELS_RUNTIME_H

#include <ulpwise/compat.h>

#include <stdexcept>
#include <string>

namespace ulpwise {

/** A failed HIP call inside a kernel library: thrown, so the ABI entry point can return it as
 *  ULPWISE_ERROR with its message instead of ending the harness's process. */
class HipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline void throwIfHipError(hipError_t status, const char* call, const char* file, int line) {
  if (status == hipSuccess) return;
  throw HipError(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " + hipGetErrorName(status) +
                 " (" + hipGetErrorString(status) + ")");
}

}  // namespace ulpwise

/** Checks a HIP call in library code; throws HipError naming the call. */
#define HIP_TRY(call) ::ulpwise::throwIfHipError((call), #call, __FILE__, __LINE__)
/** Checks the launch just made. */
#define HIP_TRY_LAUNCH() HIP_TRY(hipGetLastError())

#endif  // ULPWISE_KERNELS_RUNTIME_H
