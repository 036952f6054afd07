// libulpwise_kernels: our kernels behind the C ABI of hip/harness/ulpwise_kernel_abi.h, the
// same entry points a user's library exposes, so the harness runs ours exactly as it runs
// theirs. Each kernel reads the golden's contract and declines what it cannot compute.
//
// Kernels:
//   aiter-1stage  fused 1-stage AR + add + RMSNorm (+ group quant); also pre-2586, TRT-LLM
//                 one-shot and the other natural-order, butterfly-tree contracts
//   aiter-2stage  fused 2-stage: reduce-scatter to a bf16 stage buffer, barrier, all-gather + norm
//                 (aiter's butterfly epilogue, or local_device_load_rmsnorm's smem-halving tree)
//   unfused       custom all-reduce kernel, then fused_add_rms_norm, then group quant
//   unfused-nccl  the same chain with NCCL's all-reduce (peer mode; built with ULPWISE_HAVE_NCCL)
#include "../harness/ulpwise_kernel_abi.h"
#include "contract.h"
#include "fused_allreduce_norm.h"
#include "support.h"
#include "unfused_chain.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(ULPWISE_HAVE_NCCL)
#include <nccl.h>
#endif

namespace ulpwise {

namespace {

enum class KernelKind { fused1Stage, fused2Stage, unfused, unfusedNccl };

const char* const kLibraryName = "libulpwise_kernels 0.1 (ulpwise hip/kernels)";

#if defined(ULPWISE_HW_RSQRT)
#define ULPWISE_RSTD_NOTE " [hardware rsqrt build]"
#else
#define ULPWISE_RSTD_NOTE ""
#endif

const ulpwise_kernel_desc kKernels[] = {
    {"aiter-1stage", "fused 1-stage all-reduce + residual + RMSNorm (+ FP8 group quant), aiter butterfly tree" ULPWISE_RSTD_NOTE,
     nullptr, ULPWISE_MODE_EMULATED | ULPWISE_MODE_PEER},
    {"aiter-2stage", "fused 2-stage: reduce-scatter to bf16, barrier, all-gather + residual + RMSNorm (butterfly or smem-halving)" ULPWISE_RSTD_NOTE, nullptr,
     ULPWISE_MODE_EMULATED | ULPWISE_MODE_PEER},
    {"unfused", "custom all-reduce kernel, fused_add_rms_norm kernel, per-group quant kernel" ULPWISE_RSTD_NOTE, nullptr,
     ULPWISE_MODE_EMULATED | ULPWISE_MODE_PEER},
#if defined(ULPWISE_HAVE_NCCL)
    {"unfused-nccl", "NCCL all-reduce (bf16), fused_add_rms_norm kernel, per-group quant kernel" ULPWISE_RSTD_NOTE, nullptr,
     ULPWISE_MODE_PEER},
#endif
};

const ulpwise_library_info kLibrary = {ULPWISE_ABI_VERSION, kLibraryName, sizeof kKernels / sizeof kKernels[0], kKernels};

/** Restores the caller's device when a call returns. */
class DeviceGuard {
 public:
  DeviceGuard() { HIP_TRY(hipGetDevice(&device_)); }
  ~DeviceGuard() { (void)hipSetDevice(device_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int device_ = 0;
};

/** Device memory owned by the library, freed on its device. */
class DeviceBuffer {
 public:
  DeviceBuffer(int device, size_t bytes) : device_(device) {
    HIP_TRY(hipSetDevice(device));
    HIP_TRY(hipMalloc(&pointer_, bytes));
    HIP_TRY(hipMemset(pointer_, 0, bytes));
  }
  ~DeviceBuffer() {
    if (hipSetDevice(device_) == hipSuccess) (void)hipFree(pointer_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(pointer_);
  }

 private:
  int device_;
  void* pointer_ = nullptr;
};

/** Declines a problem: reported by the harness as a skipped case, not a failure. */
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/**
 * The sm_90 hardware-op slots run sm_90's own instructions (row_math.h), which give the
 * measured bits only on an sm_90 GPU: elsewhere the build's PTX would be compiled for another
 * architecture, whose approximations are its own. Declined, naming the slot, on any rank's
 * device of another compute capability.
 */
void refuseSm90SlotsOffSm90(const HardwareOpsContract& ops, const std::vector<int>& devices) {
  const char* slot = ops.rsqrtSm90        ? "hardwareOps.rsqrt = 'sm90'"
                     : ops.reciprocalSm90 ? "hardwareOps.reciprocal = 'sm90'"
                     : ops.divideSm90     ? "hardwareOps.divide = 'sm90-div-full'"
                                          : nullptr;
  if (slot == nullptr) return;
  for (const int device : devices) {
    hipDeviceProp_t props;
    HIP_TRY(hipGetDeviceProperties(&props, device));
    if (props.major == 9 && props.minor == 0) continue;
    throw Unsupported(std::string(slot) + " needs an sm_90 GPU (compute capability 9.0); device " + std::to_string(device) + " (" + props.name +
                      ") is " + std::to_string(props.major) + "." + std::to_string(props.minor));
  }
}

class Context {
 public:
  Context(const ulpwise_problem& problem, const ulpwise_rank_io* io, KernelKind kind)
      : kind_(kind), contract_(parseContract(problem.contract_json)), ranks_(problem.ranks), tokens_(problem.tokens),
        hidden_(problem.hidden), io_(io, io + problem.ranks), devices_(problem.devices, problem.devices + problem.ranks) {
    if (ranks_ < 1 || ranks_ > kMaxRanks) throw Unsupported("ranks " + std::to_string(ranks_) + ": these kernels take 1.." + std::to_string(kMaxRanks));
    std::string why;
    switch (kind_) {
      case KernelKind::fused1Stage: why = fusedUnsupported(contract_, hidden_, false); break;
      case KernelKind::fused2Stage: why = fusedUnsupported(contract_, hidden_, true); break;
      case KernelKind::unfused: why = unfusedUnsupported(contract_, ranks_, hidden_, false); break;
      case KernelKind::unfusedNccl: why = unfusedUnsupported(contract_, ranks_, hidden_, true); break;
    }
    if (!why.empty()) throw Unsupported(why);
    refuseSm90SlotsOffSm90(contract_.hardwareOps, devices_);
    if (kind_ == KernelKind::unfusedNccl && problem.mode != ULPWISE_MODE_PEER) {
      throw Unsupported("NCCL needs one GPU per rank: run unfused-nccl in peer mode");
    }
    if (const char* rows = std::getenv("ULPWISE_PREFETCH_ROWS")) prefetchRows_ = std::max(0, std::min(4, std::atoi(rows)));
    if (const char* variant = std::getenv("ULPWISE_BW_VARIANT")) {
      variant_ = parseVariant(variant);
      if (kind_ == KernelKind::fused1Stage) {
        // Which instance runs, for the device logs: a pinned variant on an unpinned contract is the generic one.
        const ContractPin pin = variant_ == Fused1StageVariant::generic ? ContractPin::none : contractPinFor(contract_, hidden_);
        std::fprintf(stderr, "aiter-1stage ULPWISE_BW_VARIANT=%s: %s instance\n", variant, pin == ContractPin::none ? "generic" : contractPinName(pin));
      }
    }
    const int coResident = problem.mode == ULPWISE_MODE_EMULATED ? ranks_ : 1;
    const bool twoStage = kind_ == KernelKind::fused2Stage;
    const int64_t elements = static_cast<int64_t>(tokens_) * hidden_;
    // The barrier pairs block b of every rank, so every rank launches the same grid.
    syncedBlocks_ = kMaxBlocks;
    for (int r = 0; r < ranks_; r++) {
      HIP_TRY(hipSetDevice(devices_[r]));
      if (twoStage || kind_ == KernelKind::fused1Stage) {
        preloadFusedKernels();
        syncedBlocks_ = std::min(syncedBlocks_, fusedGridBlocks(devices_[r], contract_, tokens_, hidden_, coResident, twoStage, variant_));
        if (r == 0) soloBlocks_ = fusedGridBlocks(devices_[r], contract_, tokens_, hidden_, 1, twoStage, variant_);
      } else {
        preloadUnfusedKernels();
        syncedBlocks_ = std::min(syncedBlocks_, allReduceGridBlocks(devices_[r], elements, coResident));
        if (r == 0) soloBlocks_ = allReduceGridBlocks(devices_[r], elements, 1);
      }
    }
    const size_t rowBytes = static_cast<size_t>(elements) * sizeof(uint16_t);
    for (int r = 0; r < ranks_; r++) {
      signals_.push_back(std::make_unique<DeviceBuffer>(devices_[r], sizeof(Signal)));
      if (twoStage) stage_.push_back(std::make_unique<DeviceBuffer>(devices_[r], rowBytes));
      if (kind_ == KernelKind::unfused || kind_ == KernelKind::unfusedNccl) {
        reduced_.push_back(std::make_unique<DeviceBuffer>(devices_[r], rowBytes));
        if (contract_.quant.enabled && !contract_.quant.bf16SideOutput) normScratch_.push_back(std::make_unique<DeviceBuffer>(devices_[r], rowBytes));
      }
    }
#if defined(ULPWISE_HAVE_NCCL)
    if (kind_ == KernelKind::unfusedNccl) {
      comms_.resize(ranks_);
      ncclCheck(ncclCommInitAll(comms_.data(), ranks_, devices_.data()), "ncclCommInitAll");
    }
#endif
  }

  ~Context() {
#if defined(ULPWISE_HAVE_NCCL)
    for (ncclComm_t comm : comms_) (void)ncclCommDestroy(comm);
#endif
  }

  void launch(uint32_t flags) {
    PeerSync sync{};
    for (int r = 0; r < ranks_; r++) sync.signals[r] = signals_[r]->as<Signal>();
    sync.ranks = ranks_;
    const bool solo = (flags & ULPWISE_LAUNCH_SOLO_RANK0) != 0;
    sync.enabled = !solo;
    const int blocks = solo ? soloBlocks_ : syncedBlocks_;
    const int launchedRanks = solo ? 1 : ranks_;

    if (kind_ == KernelKind::unfusedNccl) {
      if (solo) throw HipError("unfused-nccl cannot run one rank alone: NCCL's all-reduce needs every rank");
      launchNcclAllReduce();
    }
    for (int r = 0; r < launchedRanks; r++) {
      HIP_TRY(hipSetDevice(devices_[r]));
      const ulpwise_rank_io& io = io_[r];
      hipStream_t stream = static_cast<hipStream_t>(io.stream);
      sync.rank = r;
      switch (kind_) {
        case KernelKind::fused1Stage: launchFused1Stage(fusedArgs(r, sync), blocks, stream, variant_); break;
        case KernelKind::fused2Stage: {
          TwoStageArgs args{};
          args.fused = fusedArgs(r, sync);
          for (int s = 0; s < ranks_; s++) args.stageBuffers[s] = stage_[s]->as<uint16_t>();
          launchFused2Stage(args, blocks, stream);
          break;
        }
        case KernelKind::unfused: {
          AllReduceArgs args{};
          for (int s = 0; s < ranks_; s++) args.inputs[s] = static_cast<const uint16_t*>(io_[s].input);
          args.output = reduced_[r]->as<uint16_t>();
          args.elements = static_cast<int64_t>(tokens_) * hidden_;
          args.sync = sync;
          args.contract = contract_;
          launchAllReduce(args, blocks, stream);
          launchNormAndQuant(r, stream);
          break;
        }
        case KernelKind::unfusedNccl: launchNormAndQuant(r, stream); break;
      }
    }
  }

 private:
  KernelKind kind_;
  Contract contract_;
  int ranks_, tokens_, hidden_;
  std::vector<ulpwise_rank_io> io_;
  std::vector<int> devices_;
  int syncedBlocks_ = 1;
  int soloBlocks_ = 1;
  /** ULPWISE_PREFETCH_ROWS (a tuning knob for the 1-stage kernel; default 0: on an H100 the
   *  pinned-bulk kernel ran at 89.8% of copy bandwidth without prefetch, 73.9% one row ahead and
   *  59.5% two ahead; bench/RESULTS.md). */
  int prefetchRows_ = 0;
  /** ULPWISE_BW_VARIANT: the 1-stage kernel's code variant (fused_allreduce_norm.h; default
   *  pinned-bulk, the fastest measured; a contract no instance pins runs the generic code). */
  Fused1StageVariant variant_ = Fused1StageVariant::pinnedBulk;

  static Fused1StageVariant parseVariant(const std::string& name) {
    if (name == "generic") return Fused1StageVariant::generic;
    if (name == "pinned") return Fused1StageVariant::pinned;
    if (name == "pinned-ftz") return Fused1StageVariant::pinnedFtz;
    if (name == "pinned-sqrt") return Fused1StageVariant::pinnedSqrt;
    if (name == "pinned-cvt") return Fused1StageVariant::pinnedCvt;
    if (name == "pinned-bulk") return Fused1StageVariant::pinnedBulk;
    throw std::runtime_error("ULPWISE_BW_VARIANT '" + name + "': expected generic, pinned, pinned-ftz, pinned-sqrt, pinned-cvt or pinned-bulk");
  }
  std::vector<std::unique_ptr<DeviceBuffer>> signals_, stage_, reduced_, normScratch_;
#if defined(ULPWISE_HAVE_NCCL)
  std::vector<ncclComm_t> comms_;

  static void ncclCheck(ncclResult_t result, const char* call) {
    if (result != ncclSuccess) throw HipError(std::string(call) + " failed: " + ncclGetErrorString(result));
  }
#endif

  FusedArgs fusedArgs(int r, const PeerSync& sync) const {
    FusedArgs args{};
    for (int s = 0; s < ranks_; s++) args.inputs[s] = static_cast<const uint16_t*>(io_[s].input);
    const ulpwise_rank_io& io = io_[r];
    args.io = EpilogueIo{static_cast<const uint16_t*>(io.residual), io.weight, static_cast<uint16_t*>(io.out_residual),
                         static_cast<uint16_t*>(io.out_norm), static_cast<uint8_t*>(io.out_q), static_cast<float*>(io.out_scale),
                         tokens_, hidden_};
    args.sync = sync;
    args.contract = contract_;
    args.prefetchRows = prefetchRows_;
    return args;
  }

  void launchNormAndQuant(int r, hipStream_t stream) {
    const ulpwise_rank_io& io = io_[r];
    uint16_t* normOut = normScratch_.empty() ? static_cast<uint16_t*>(io.out_norm) : normScratch_[r]->as<uint16_t>();
    AddNormArgs norm{reduced_[r]->as<uint16_t>(), static_cast<const uint16_t*>(io.residual), io.weight,
                     static_cast<uint16_t*>(io.out_residual), normOut, tokens_, hidden_, contract_};
    launchAddNorm(norm, stream);
    if (contract_.quant.enabled) {
      GroupQuantArgs quant{normOut, static_cast<uint8_t*>(io.out_q), static_cast<float*>(io.out_scale), tokens_, hidden_, contract_};
      launchGroupQuant(quant, stream);
    }
  }

  void launchNcclAllReduce() {
#if defined(ULPWISE_HAVE_NCCL)
    const size_t count = static_cast<size_t>(tokens_) * hidden_;
    ncclCheck(ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < ranks_; r++) {
      ncclCheck(ncclAllReduce(io_[r].input, reduced_[r]->as<uint16_t>(), count, ncclBfloat16, ncclSum, comms_[r],
                              static_cast<hipStream_t>(io_[r].stream)),
                "ncclAllReduce");
    }
    ncclCheck(ncclGroupEnd(), "ncclGroupEnd");
#endif
  }
};

void writeError(char* error, size_t size, const std::string& message) {
  if (error != nullptr && size > 0) std::snprintf(error, size, "%s", message.c_str());
}

}  // namespace

}  // namespace ulpwise

extern "C" {

const ulpwise_library_info* ulpwise_library(void) { return &ulpwise::kLibrary; }

int ulpwise_create(const ulpwise_problem* problem, const ulpwise_rank_io* io, void** context, char* error, size_t error_size) {
  using namespace ulpwise;
  *context = nullptr;
  KernelKind kind;
  const std::string name = problem->kernel != nullptr ? problem->kernel : "";
  if (name == "aiter-1stage") kind = KernelKind::fused1Stage;
  else if (name == "aiter-2stage") kind = KernelKind::fused2Stage;
  else if (name == "unfused") kind = KernelKind::unfused;
#if defined(ULPWISE_HAVE_NCCL)
  else if (name == "unfused-nccl") kind = KernelKind::unfusedNccl;
#endif
  else {
    writeError(error, error_size, "no kernel named '" + name + "' in " + kLibraryName);
    return ULPWISE_ERROR;
  }
  try {
    DeviceGuard guard;
    *context = new Context(*problem, io, kind);
    return ULPWISE_OK;
  } catch (const ContractUnsupported& e) {
    writeError(error, error_size, e.what());
    return ULPWISE_UNSUPPORTED;
  } catch (const Unsupported& e) {
    writeError(error, error_size, e.what());
    return ULPWISE_UNSUPPORTED;
  } catch (const std::exception& e) {
    writeError(error, error_size, e.what());
    return ULPWISE_ERROR;
  }
}

int ulpwise_launch(void* context, uint32_t flags, char* error, size_t error_size) {
  try {
    ulpwise::DeviceGuard guard;
    static_cast<ulpwise::Context*>(context)->launch(flags);
    return ULPWISE_OK;
  } catch (const std::exception& e) {
    ulpwise::writeError(error, error_size, e.what());
    return ULPWISE_ERROR;
  }
}

void ulpwise_destroy(void* context) {
  try {
    ulpwise::DeviceGuard guard;
    delete static_cast<ulpwise::Context*>(context);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ulpwise_destroy: %s\n", e.what());
  }
}

}  // extern "C"
