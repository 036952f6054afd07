/*
 * The C ABI between the ulpwise harness and a kernel library.
 *
 * A kernel library is a shared object (.so) that the harness loads with dlopen. It exports
 * four functions:
 *
 *   const ulpwise_library_info* ulpwise_library(void);
 *   int  ulpwise_create(const ulpwise_problem* problem, const ulpwise_rank_io* io,
 *                       void** context, char* error, size_t error_size);
 *   int  ulpwise_launch(void* context, uint32_t flags, char* error, size_t error_size);
 *   void ulpwise_destroy(void* context);
 *
 * Life of one case:
 *   1. The harness reads a golden file, allocates every buffer (inputs, residual, weight and
 *      outputs of each rank, on that rank's device) and creates one stream per rank.
 *   2. ulpwise_create(problem, io[ranks]) sets the library up for this problem: it allocates
 *      its workspace (flags, temporary buffers, NCCL communicators, ...) and may decline
 *      (ULPWISE_UNSUPPORTED, with a reason in `error`) when its kernel cannot compute the
 *      problem's contract. Buffers are fixed from here on, as with a custom all-reduce that
 *      registers its IPC buffers once.
 *   3. ulpwise_launch enqueues the work of EVERY rank on that rank's stream and returns without
 *      waiting (the harness synchronises). It is called several times (poisoned outputs, timing,
 *      CUDA/HIP graph capture), so it must be replayable: no host-side state that a graph would
 *      freeze may decide what a launch does.
 *   4. ulpwise_destroy frees the workspace.
 *
 * Threading and devices: every call comes from one host thread. A library switches devices with
 * hipSetDevice/cudaSetDevice as it needs; the harness restores its own device afterwards.
 *
 * Runtime: the library must use the shared HIP runtime (libamdhip64.so, hipcc's default) or the
 * shared CUDA runtime (nvcc -cudart shared), like the harness, so that streams and device
 * pointers mean the same thing on both sides.
 *
 * Data: all tensors are row-major and hold bits. Inputs, residual and norm output are bf16
 * [tokens, hidden]; the weight is [hidden] bf16 or f32 (the contract's norm.weight.dtype); the
 * quant output is fp8 codes [tokens, hidden] and the scales are f32, [tokens, hidden/group]
 * (row-major) or [hidden/group, tokens] (column-major), as the contract's quant says.
 *
 * Return codes: ULPWISE_OK, ULPWISE_UNSUPPORTED (create only: not this problem; the harness
 * reports the case as skipped), ULPWISE_ERROR (anything else; `error` says what failed).
 */
#ifndef ULPWISE_KERNEL_ABI_H
#define ULPWISE_KERNEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ULPWISE_ABI_VERSION 1u

enum {
  ULPWISE_OK = 0,
  ULPWISE_UNSUPPORTED = 1,
  ULPWISE_ERROR = 2,
};

/** Rank modes (bits of ulpwise_kernel_desc.modes). */
enum {
  /** Every rank's buffers on one device (devices[r] are all the same); ranks are emulated. */
  ULPWISE_MODE_EMULATED = 1u << 0,
  /** Rank r on devices[r], one process, peer access enabled between every pair: a kernel
   *  reads its peers' buffers directly, as a custom all-reduce does over IPC handles. */
  ULPWISE_MODE_PEER = 1u << 1,
};

/** Launch flags. */
enum {
  /** Benchmarks only: enqueue rank 0's work alone, with no cross-rank barrier, on all of its
   *  device. Measures one rank's data path (it reads the peers' unchanging inputs). A library
   *  that cannot run one rank alone (NCCL) returns ULPWISE_ERROR. */
  ULPWISE_LAUNCH_SOLO_RANK0 = 1u << 0,
};

typedef struct ulpwise_kernel_desc {
  /** Kernel name, unique in the library ("aiter-1stage"). */
  const char* name;
  /** One line: what it is. */
  const char* description;
  /** NULL-terminated preset names this kernel computes, or NULL: then the kernel decides from
   *  the contract (ulpwise_problem.contract_json) and declines what it cannot compute. */
  const char* const* presets;
  /** ULPWISE_MODE_* bits. */
  uint32_t modes;
} ulpwise_kernel_desc;

typedef struct ulpwise_library_info {
  /** ULPWISE_ABI_VERSION of the header the library was built with. */
  uint32_t abi_version;
  /** Library name and version, for the report. */
  const char* name;
  uint32_t kernel_count;
  const ulpwise_kernel_desc* kernels;
} ulpwise_library_info;

typedef struct ulpwise_problem {
  /** A name from ulpwise_library()->kernels. */
  const char* kernel;
  /** The golden's preset (metadata ulpwise.preset). */
  const char* preset;
  /** The golden's contract (metadata ulpwise.contract): canonical JSON, keys sorted, as
   *  src/contracts/schema.ts defines it. */
  const char* contract_json;
  int32_t ranks;
  int32_t tokens;
  int32_t hidden;
  /** ULPWISE_MODE_EMULATED or ULPWISE_MODE_PEER. */
  uint32_t mode;
  /** [ranks]: the device of each rank (all equal in emulated mode). */
  const int32_t* devices;
} ulpwise_problem;

/** One rank's buffers (device pointers on that rank's device) and stream. */
typedef struct ulpwise_rank_io {
  /** hipStream_t / cudaStream_t on this rank's device. */
  void* stream;
  /** [tokens, hidden] bf16: this rank's share of the all-reduce. Peers read it directly. */
  const void* input;
  /** [tokens, hidden] bf16, or NULL when the contract has no residual. */
  const void* residual;
  /** [hidden], bf16 or f32. */
  const void* weight;
  /** Outputs; NULL where the contract has no such output. */
  void* out_residual; /* bf16 [tokens, hidden] */
  void* out_norm;     /* bf16 [tokens, hidden] */
  void* out_q;        /* fp8 codes [tokens, hidden] */
  void* out_scale;    /* f32 [tokens, hidden/group] or [hidden/group, tokens] */
} ulpwise_rank_io;

typedef const ulpwise_library_info* (*ulpwise_library_fn)(void);
typedef int (*ulpwise_create_fn)(const ulpwise_problem* problem, const ulpwise_rank_io* io, void** context,
                                 char* error, size_t error_size);
typedef int (*ulpwise_launch_fn)(void* context, uint32_t flags, char* error, size_t error_size);
typedef void (*ulpwise_destroy_fn)(void* context);

#ifdef __cplusplus
}
#endif

#endif /* ULPWISE_KERNEL_ABI_H */
