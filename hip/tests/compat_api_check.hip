// Exercises, through compat.h, the runtime calls the harness relies on, so that a wrong
// mapping or a platform without peer access shows up before the harness does: every device,
// peer access between every pair (a kernel on one GPU writing into another's memory), and a
// stream-captured graph replayed and timed with events.
//
//   compat_api_check    exit 0 when everything held; 1 otherwise (what failed is printed)
#include <ulpwise/compat.h>

#include <cstdint>
#include <vector>

namespace {

constexpr uint32_t kElements = 1u << 20;
constexpr int kReplays = 100;

__global__ void fillKernel(uint32_t* out, uint32_t count, uint32_t value) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) out[i] = value + i;
}

__global__ void incrementKernel(uint32_t* data, uint32_t count) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) data[i] += 1;
}

dim3 gridFor(uint32_t count) { return dim3((count + 255) / 256); }

/** Counts elements of device memory (on the current device) that differ from expected(i). */
template <typename Expected>
uint32_t countWrong(const uint32_t* deviceData, Expected expected) {
  std::vector<uint32_t> host(kElements);
  HIP_CHECK(hipMemcpy(host.data(), deviceData, kElements * sizeof(uint32_t), hipMemcpyDeviceToHost));
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < kElements; i++) wrong += host[i] != expected(i) ? 1 : 0;
  return wrong;
}

/** Device `writer` fills device `owner`'s buffer through peer access. Returns false on a failure. */
bool checkPeerWrite(int writer, int owner, uint32_t* ownerBuffer) {
  int canAccess = 0;
  HIP_CHECK(hipDeviceCanAccessPeer(&canAccess, writer, owner));
  if (!canAccess) {
    std::printf("peer %d -> %d: no peer access\n", writer, owner);
    return false;
  }
  HIP_CHECK(hipSetDevice(writer));
  const hipError_t enabled = hipDeviceEnablePeerAccess(owner, 0);
  if (enabled == hipErrorPeerAccessAlreadyEnabled) {
    (void)hipGetLastError();  // returns and clears the recorded "already enabled"
  } else {
    HIP_CHECK(enabled);
  }
  const uint32_t value = static_cast<uint32_t>(writer * 1000 + owner) << 20;
  hipLaunchKernelGGL(fillKernel, gridFor(kElements), dim3(256), 0, nullptr, ownerBuffer, kElements, value);
  HIP_CHECK_LAUNCH();
  HIP_CHECK(hipDeviceSynchronize());
  HIP_CHECK(hipSetDevice(owner));
  const uint32_t wrong = countWrong(ownerBuffer, [=](uint32_t i) { return value + i; });
  std::printf("peer %d -> %d: kernel wrote the peer's memory, %u elements wrong\n", writer, owner, wrong);
  return wrong == 0;
}

/** Captures memset + kernel on a stream, replays the graph, times replays with events. */
bool checkGraphReplay(uint32_t* buffer) {
  hipStream_t stream;
  HIP_CHECK(hipStreamCreate(&stream));
  hipGraph_t graph;
  HIP_CHECK(hipStreamBeginCapture(stream, hipStreamCaptureModeGlobal));
  HIP_CHECK(hipMemsetAsync(buffer, 0, kElements * sizeof(uint32_t), stream));
  for (int step = 0; step < 3; step++) {
    hipLaunchKernelGGL(incrementKernel, gridFor(kElements), dim3(256), 0, stream, buffer, kElements);
  }
  HIP_CHECK(hipStreamEndCapture(stream, &graph));
  hipGraphExec_t executable;
  HIP_CHECK(hipGraphInstantiateWithFlags(&executable, graph, 0));

  hipEvent_t start, stop;
  HIP_CHECK(hipEventCreate(&start));
  HIP_CHECK(hipEventCreate(&stop));
  HIP_CHECK(hipGraphLaunch(executable, stream));  // warm-up
  HIP_CHECK(hipEventRecord(start, stream));
  for (int replay = 0; replay < kReplays; replay++) HIP_CHECK(hipGraphLaunch(executable, stream));
  HIP_CHECK(hipEventRecord(stop, stream));
  HIP_CHECK(hipEventSynchronize(stop));
  float milliseconds = 0;
  HIP_CHECK(hipEventElapsedTime(&milliseconds, start, stop));
  HIP_CHECK(hipStreamSynchronize(stream));

  std::vector<uint32_t> host(kElements);
  HIP_CHECK(hipMemcpyAsync(host.data(), buffer, kElements * sizeof(uint32_t), hipMemcpyDeviceToHost, stream));
  HIP_CHECK(hipStreamSynchronize(stream));
  uint32_t wrong = 0;
  for (uint32_t value : host) wrong += value != 3 ? 1 : 0;
  std::printf("graph: memset + 3 kernels replayed %d times, %.2f us per replay, %u elements wrong\n", kReplays,
              milliseconds * 1000.0f / kReplays, wrong);

  HIP_CHECK(hipEventDestroy(start));
  HIP_CHECK(hipEventDestroy(stop));
  HIP_CHECK(hipGraphExecDestroy(executable));
  HIP_CHECK(hipGraphDestroy(graph));
  HIP_CHECK(hipStreamDestroy(stream));
  return wrong == 0;
}

}  // namespace

int main() {
  int devices = 0;
  HIP_CHECK(hipGetDeviceCount(&devices));
  std::printf("%d device(s)\n", devices);
  if (devices == 0) return 1;

  std::vector<uint32_t*> buffers(devices);
  for (int d = 0; d < devices; d++) {
    HIP_CHECK(hipSetDevice(d));
    HIP_CHECK(hipMalloc(&buffers[d], kElements * sizeof(uint32_t)));
    HIP_CHECK(hipMemset(buffers[d], 0xff, kElements * sizeof(uint32_t)));
  }

  bool ok = true;
  for (int writer = 0; writer < devices; writer++) {
    for (int owner = 0; owner < devices; owner++) {
      if (writer != owner) ok = checkPeerWrite(writer, owner, buffers[owner]) && ok;
    }
  }
  HIP_CHECK(hipSetDevice(0));
  ok = checkGraphReplay(buffers[0]) && ok;

  for (int d = 0; d < devices; d++) {
    HIP_CHECK(hipSetDevice(d));
    HIP_CHECK(hipFree(buffers[d]));
  }
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
