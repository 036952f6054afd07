// What the harness does around a kernel library: load it (dlopen, the C ABI of
// ulpwise_kernel_abi.h), read a golden case, place each rank's buffers on its device, poison
// the outputs, launch, and read the outputs back.
#ifndef ULPWISE_HARNESS_SESSION_H
#define ULPWISE_HARNESS_SESSION_H

#include "../kernels/runtime.h"
#include "safetensors.h"
#include "ulpwise_kernel_abi.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ulpwise::harness {

/** Exit codes shared with `ulpwise crosscheck`. */
enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitSkipped = 3 };

/** An expected failure with a one-line message and an exit code (no stack trace). */
class HarnessError : public std::runtime_error {
 public:
  HarnessError(ExitCode code, const std::string& message) : std::runtime_error(message), code(code) {}
  ExitCode code;
};

class KernelLibrary {
 public:
  explicit KernelLibrary(const std::string& path);
  ~KernelLibrary();
  KernelLibrary(const KernelLibrary&) = delete;
  KernelLibrary& operator=(const KernelLibrary&) = delete;

  const ulpwise_library_info& info() const { return *info_; }
  /** The named kernel; "" picks the only one. Throws HarnessError naming the choices. */
  const ulpwise_kernel_desc& kernel(const std::string& name) const;
  const std::string& path() const { return path_; }

  ulpwise_create_fn create = nullptr;
  ulpwise_launch_fn launch = nullptr;
  ulpwise_destroy_fn destroy = nullptr;

 private:
  std::string path_;
  void* handle_ = nullptr;
  const ulpwise_library_info* info_ = nullptr;
};

enum class OutputKind { residual, norm, q, scale };
constexpr int kOutputKinds = 4;
const char* outputKindName(OutputKind kind);

struct OutputSpec {
  std::string name;
  OutputKind kind;
  /** The rank whose buffer holds it (rankR.out.*), or -1: every rank computes it. */
  int rank;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t bytes() const;
};

/** A case: a golden's inputs and output layout, or a synthetic one of the same contract. */
struct CaseData {
  std::string source;
  std::string preset;
  std::string contractJson;
  int ranks = 0, tokens = 0, hidden = 0;
  /** bf16 bits, [ranks][tokens * hidden * 2 bytes]. */
  std::vector<std::vector<uint8_t>> inputs;
  /** Empty when the golden has no residual. */
  std::vector<uint8_t> residual;
  std::vector<uint8_t> weight;
  std::vector<OutputSpec> outputs;
  std::vector<std::pair<std::string, std::string>> metadata;
};

/** Reads and checks a golden file (names, dtypes and shapes against its ulpwise.case). */
CaseData readGoldenCase(const std::string& path);

/** A case with `golden`'s contract and output layout at another shape, filled with seeded
 *  random inputs: for benchmarks. */
CaseData syntheticCase(const CaseData& golden, int ranks, int tokens, int hidden, uint64_t seed);

struct RankBuffers {
  int device = 0;
  hipStream_t stream = nullptr;
  void* input = nullptr;
  void* residual = nullptr;
  void* weight = nullptr;
  void* outputs[kOutputKinds] = {};
  uint64_t outputBytes[kOutputKinds] = {};
};

/** One case on one set of devices: buffers, streams and the library's context. */
class Session {
 public:
  Session(const KernelLibrary& library, const std::string& kernel, const CaseData& data, uint32_t mode, const std::vector<int>& devices);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /** ulpwise_create: ULPWISE_OK, or throws HarnessError (kExitSkipped when the kernel declines). */
  void create();
  /** Copies the inputs to the devices (again: a kernel may have written over them). */
  void upload();
  /** Fills every output byte with `pattern`. */
  void poison(uint8_t pattern);
  /** Enqueues one launch of every rank, forked from and joined back to rank 0's stream. */
  void launch(uint32_t flags);
  void synchronize();
  /** Rank r's buffer of one output kind, on the host. */
  std::vector<uint8_t> download(int rank, OutputKind kind) const;

  const std::vector<RankBuffers>& ranks() const { return ranks_; }
  const CaseData& data() const { return data_; }
  hipStream_t mainStream() const { return ranks_[0].stream; }
  bool hasOutput(OutputKind kind) const { return outputBytes_[static_cast<int>(kind)] != 0; }

 private:
  const KernelLibrary& library_;
  std::string kernel_;
  const CaseData& data_;
  uint32_t mode_;
  std::vector<int> devices_;
  std::vector<RankBuffers> ranks_;
  uint64_t outputBytes_[kOutputKinds] = {};
  void* context_ = nullptr;
  std::vector<hipEvent_t> forkEvents_, joinEvents_;
};

/** Enables peer access between every pair of `devices`; throws HarnessError if a pair cannot. */
void enablePeerAccess(const std::vector<int>& devices);

/** The devices of a run: emulated on `device`, or peer on 0..ranks-1 (kExitSkipped when fewer
 *  GPUs are visible than the case has ranks). */
std::vector<int> rankDevices(uint32_t mode, int ranks, int device);

}  // namespace ulpwise::harness

#endif  // ULPWISE_HARNESS_SESSION_H
