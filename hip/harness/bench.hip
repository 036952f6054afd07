// Benchmarks of a kernel library through the same ABI as `run`, on seeded synthetic inputs
// with a golden's contract and output layout at the shape asked for.
//
//   bench-bandwidth --golden G --kernel K --ranks N --tokens M --hidden H
//                   [--lib LIB] [--device D] [--iterations I] [--copy-mib C] [--variants V1,V2,..]
//       emulated ranks on one GPU. Times rank 0's launch alone (ULPWISE_LAUNCH_SOLO_RANK0: it
//       reads all N inputs, the residual and the weight, and writes its outputs) and reports
//       bytes moved / time against a device-to-device copy of C MiB (read + write counted).
//       Also times the whole emulated all-reduce (all N ranks with their barriers). With
//       --variants, once per ULPWISE_BW_VARIANT value on the same inputs, each variant's rank-0
//       outputs compared byte for byte with the first's (exit 1 if any differ).
//   bench-latency --fused-golden G1 --fused-kernel K1 --unfused-golden G2 --unfused-kernel K2
//                 [--ranks N] [--mode peer|emulated] [--tokens 1,4,16,128] [--hidden 4096,7168]
//                 [--lib LIB] [--launches-per-graph L] [--replays R] [--eager E]
//       per-call latency of the fused kernel and of the unfused chain, eager (E back-to-back
//       launches between two events) and from graph replay (L launches captured in one graph,
//       replayed R times).
#include "commands.h"

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>

namespace ulpwise::harness {

namespace {

class EventPair {
 public:
  EventPair() {
    HIP_CHECK(hipEventCreate(&start));
    HIP_CHECK(hipEventCreate(&stop));
  }
  ~EventPair() {
    (void)hipEventDestroy(start);
    (void)hipEventDestroy(stop);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  float milliseconds() const {
    HIP_CHECK(hipEventSynchronize(stop));
    float ms = 0;
    HIP_CHECK(hipEventElapsedTime(&ms, start, stop));
    return ms;
  }
  hipEvent_t start = nullptr, stop = nullptr;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/** Median milliseconds of `iterations` timed calls of `enqueue` on `stream`, after 3 warm-ups. */
template <typename Enqueue>
double timeMedianMs(hipStream_t stream, int iterations, Enqueue enqueue, const std::function<void()>& synchronize) {
  for (int i = 0; i < 3; i++) enqueue();
  synchronize();
  std::vector<double> times;
  EventPair events;
  for (int i = 0; i < iterations; i++) {
    HIP_CHECK(hipEventRecord(events.start, stream));
    enqueue();
    HIP_CHECK(hipEventRecord(events.stop, stream));
    times.push_back(events.milliseconds());
  }
  synchronize();
  return median(times);
}

std::string gpuName(int device) {
  hipDeviceProp_t props;
  HIP_CHECK(hipGetDeviceProperties(&props, device));
  return props.name;
}

}  // namespace

namespace {

/** A comma-separated list of names (--variants). */
std::vector<std::string> names(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, comma - start);
    if (name.empty()) throw HarnessError(kExitUsage, "--variants '" + list + "': an empty name");
    out.push_back(name);
    start = comma + 1;
  }
  return out;
}

}  // namespace

int benchBandwidth(const std::vector<std::string>& args) {
  const Options options(args, {"golden", "kernel", "ranks", "tokens", "hidden", "lib", "device", "iterations", "copy-mib", "variants"});
  const CaseData golden = readGoldenCase(options.required("golden"));
  const int ranks = options.integer("ranks", 8), tokens = options.integer("tokens", 8192), hidden = options.integer("hidden", 7168);
  const int iterations = std::max(1, options.integer("iterations", 20));
  const int device = options.integer("device", 0);
  // --variants a,b,..: each run with ULPWISE_BW_VARIANT set to it (the library reads it when a
  // context is created), on the same inputs; every variant's outputs are compared byte for byte
  // with the first one's. Without it, one run with the environment as it is.
  const std::vector<std::string> variants = options.has("variants") ? names(options.required("variants")) : std::vector<std::string>{""};
  const CaseData data = syntheticCase(golden, ranks, tokens, hidden, 0x5eed);
  const KernelLibrary library(libraryPath(options));
  const std::string kernel = library.kernel(options.text("kernel", "")).name;

  const uint64_t copyBytes = static_cast<uint64_t>(std::max(1, options.integer("copy-mib", 2048))) << 20;
  double copyMs = 0;
  {
    HIP_CHECK(hipSetDevice(device));
    hipStream_t stream = nullptr;
    HIP_CHECK(hipStreamCreate(&stream));
    void* from = nullptr;
    void* to = nullptr;
    HIP_CHECK(hipMalloc(&from, copyBytes));
    HIP_CHECK(hipMalloc(&to, copyBytes));
    HIP_CHECK(hipMemset(from, 1, copyBytes));
    copyMs = timeMedianMs(stream, iterations, [&] { HIP_CHECK(hipMemcpyAsync(to, from, copyBytes, hipMemcpyDeviceToDevice, stream)); },
                          [&] { HIP_CHECK(hipStreamSynchronize(stream)); });
    HIP_CHECK(hipFree(from));
    HIP_CHECK(hipFree(to));
    HIP_CHECK(hipStreamDestroy(stream));
  }
  const double copyGBs = 2.0 * static_cast<double>(copyBytes) / (copyMs * 1e6);
  std::printf("bench-bandwidth %s (%s) on %s, emulated N=%d M=%d H=%d, preset %s\n", kernel.c_str(), library.info().name, gpuName(device).c_str(), ranks,
              tokens, hidden, data.preset.c_str());
  std::printf("  device-to-device copy of %llu MiB: %.3f ms = %.1f GB/s (read + write)\n", static_cast<unsigned long long>(copyBytes >> 20), copyMs,
              copyGBs);

  const std::string firstLabel = variants.front().empty() ? "(default)" : variants.front();
  std::vector<std::vector<uint8_t>> firstOutputs;
  bool bitsDiffer = false;
  for (const std::string& variant : variants) {
    if (!variant.empty() && setenv("ULPWISE_BW_VARIANT", variant.c_str(), 1) != 0) throw HarnessError(kExitFailed, "setenv ULPWISE_BW_VARIANT failed");
    const std::string label = variant.empty() ? "(default)" : variant;
    Session session(library, kernel, data, ULPWISE_MODE_EMULATED, rankDevices(ULPWISE_MODE_EMULATED, ranks, device));
    session.create();
    const auto synchronize = [&] { session.synchronize(); };

    // Bytes one rank moves: every rank's input, the residual, the weight; its own outputs.
    uint64_t bytes = 0;
    for (const auto& input : data.inputs) bytes += input.size();
    bytes += data.residual.size() + data.weight.size();
    for (int k = 0; k < kOutputKinds; k++) bytes += session.ranks()[0].outputBytes[k];

    const double soloMs = timeMedianMs(session.mainStream(), iterations, [&] { session.launch(ULPWISE_LAUNCH_SOLO_RANK0); }, synchronize);
    const double allRanksMs = timeMedianMs(session.mainStream(), iterations, [&] { session.launch(0); }, synchronize);

    // Rank 0's outputs after the last launch (every rank computes the whole output).
    std::vector<std::vector<uint8_t>> outputs;
    for (int k = 0; k < kOutputKinds; k++) {
      const OutputKind kind = static_cast<OutputKind>(k);
      outputs.push_back(session.hasOutput(kind) ? session.download(0, kind) : std::vector<uint8_t>{});
    }
    std::string bits = "reference";
    if (firstOutputs.empty()) {
      firstOutputs = outputs;
    } else {
      bits = "identical to " + firstLabel;
      for (int k = 0; k < kOutputKinds; k++) {
        if (outputs[k] == firstOutputs[k]) continue;
        uint64_t differing = 0;
        for (size_t i = 0; i < std::min(outputs[k].size(), firstOutputs[k].size()); i++) differing += outputs[k][i] != firstOutputs[k][i];
        bits = "DIFFER from " + firstLabel + " (" + outputKindName(static_cast<OutputKind>(k)) + ": " + std::to_string(differing) +
               " bytes)";
        bitsDiffer = true;
        break;
      }
    }

    const double kernelGBs = static_cast<double>(bytes) / (soloMs * 1e6);
    // The library's ULPWISE_PREFETCH_ROWS, as the environment gives it, for the record.
    const char* prefetchRows = std::getenv("ULPWISE_PREFETCH_ROWS") != nullptr ? std::getenv("ULPWISE_PREFETCH_ROWS") : "default";
    std::printf("  variant %-12s rank 0 alone: %.3f ms for %.3f GB = %.1f GB/s = %.1f%% of copy; all %d ranks: %.3f ms; outputs %s\n", label.c_str(),
                soloMs, bytes / 1e9, kernelGBs, 100.0 * kernelGBs / copyGBs, ranks, allRanksMs, bits.c_str());
    std::printf("{\"bench\":\"bandwidth\",\"kernel\":\"%s\",\"variant\":\"%s\",\"prefetchRows\":\"%s\",\"gpu\":\"%s\",\"ranks\":%d,"
                "\"tokens\":%d,\"hidden\":%d,\"bytes\":%llu,\"soloMs\":%.5f,\"kernelGBs\":%.2f,\"copyGBs\":%.2f,\"ratio\":%.4f,\"allRanksMs\":%.5f,"
                "\"bitsMatchFirst\":%s}\n",
                kernel.c_str(), label.c_str(), prefetchRows, gpuName(device).c_str(), ranks, tokens, hidden, static_cast<unsigned long long>(bytes), soloMs,
                kernelGBs, copyGBs, kernelGBs / copyGBs, allRanksMs, bits.rfind("DIFFER", 0) == 0 ? "false" : "true");
    std::fflush(stdout);
  }
  return bitsDiffer ? kExitFailed : kExitOk;
}

namespace {

struct Latency {
  double eagerUs = 0;
  double graphUs = 0;
  std::string graphError;
};

Latency measureLatency(const KernelLibrary& library, const std::string& kernel, const CaseData& data, uint32_t mode,
                       const std::vector<int>& devices, int eager, int perGraph, int replays) {
  Session session(library, kernel, data, mode, devices);
  session.create();
  const hipStream_t stream = session.mainStream();
  Latency result;
  for (int i = 0; i < 10; i++) session.launch(0);
  session.synchronize();
  {
    EventPair events;
    HIP_CHECK(hipEventRecord(events.start, stream));
    for (int i = 0; i < eager; i++) session.launch(0);
    HIP_CHECK(hipEventRecord(events.stop, stream));
    result.eagerUs = 1000.0 * events.milliseconds() / eager;
  }
  session.synchronize();

  hipGraph_t graph = nullptr;
  hipGraphExec_t exec = nullptr;
  hipError_t status = hipStreamBeginCapture(stream, hipStreamCaptureModeRelaxed);
  if (status == hipSuccess) {
    try {
      for (int i = 0; i < perGraph; i++) session.launch(0);
    } catch (const HarnessError& error) {
      result.graphError = error.what();
    }
    const hipError_t end = hipStreamEndCapture(stream, &graph);
    status = result.graphError.empty() ? end : status;
  }
  if (status == hipSuccess && result.graphError.empty()) status = hipGraphInstantiateWithFlags(&exec, graph, 0);
  if (status != hipSuccess || !result.graphError.empty()) {
    if (result.graphError.empty()) result.graphError = std::string("graph capture failed: ") + hipGetErrorString(status);
    (void)hipGetLastError();
    if (graph != nullptr) (void)hipGraphDestroy(graph);
    return result;
  }
  for (int i = 0; i < 3; i++) HIP_CHECK(hipGraphLaunch(exec, stream));
  HIP_CHECK(hipStreamSynchronize(stream));
  EventPair events;
  HIP_CHECK(hipEventRecord(events.start, stream));
  for (int i = 0; i < replays; i++) HIP_CHECK(hipGraphLaunch(exec, stream));
  HIP_CHECK(hipEventRecord(events.stop, stream));
  result.graphUs = 1000.0 * events.milliseconds() / (static_cast<double>(replays) * perGraph);
  session.synchronize();
  HIP_CHECK(hipGraphExecDestroy(exec));
  HIP_CHECK(hipGraphDestroy(graph));
  return result;
}

}  // namespace

int benchLatency(const std::vector<std::string>& args) {
  const Options options(args, {"fused-golden", "fused-kernel", "unfused-golden", "unfused-kernel", "ranks", "mode", "tokens", "hidden", "lib",
                               "launches-per-graph", "replays", "eager", "device"});
  const CaseData fusedGolden = readGoldenCase(options.required("fused-golden"));
  const CaseData unfusedGolden = readGoldenCase(options.required("unfused-golden"));
  const std::string fusedKernel = options.required("fused-kernel");
  const std::string unfusedKernel = options.required("unfused-kernel");
  const int ranks = options.integer("ranks", 2);
  const uint32_t mode = rankMode(options);
  const std::vector<int> tokensList = options.integers("tokens", {1, 4, 16, 128});
  const std::vector<int> hiddenList = options.integers("hidden", {4096, 7168});
  const int perGraph = std::max(1, options.integer("launches-per-graph", 20));
  const int replays = std::max(1, options.integer("replays", 20));
  const int eager = std::max(1, options.integer("eager", 100));
  const KernelLibrary library(libraryPath(options));
  const std::vector<int> devices = rankDevices(mode, ranks, options.integer("device", 0));
  if (mode == ULPWISE_MODE_PEER) enablePeerAccess(devices);

  std::printf("bench-latency %s, N=%d, %s (preset %s) vs %s (preset %s) on %s; microseconds per call\n", options.text("mode", "emulated").c_str(),
              ranks, fusedKernel.c_str(), fusedGolden.preset.c_str(), unfusedKernel.c_str(), unfusedGolden.preset.c_str(), gpuName(devices[0]).c_str());
  std::printf("  %6s %6s | %12s %12s | %12s %12s | %14s\n", "M", "H", "fused eager", "fused graph", "unfused eager", "unfused graph",
              "graph speedup");
  for (const int hidden : hiddenList) {
    for (const int tokens : tokensList) {
      const CaseData fusedData = syntheticCase(fusedGolden, ranks, tokens, hidden, 0x1a7e);
      const CaseData unfusedData = syntheticCase(unfusedGolden, ranks, tokens, hidden, 0x1a7e);
      const Latency fused = measureLatency(library, fusedKernel, fusedData, mode, devices, eager, perGraph, replays);
      const Latency unfused = measureLatency(library, unfusedKernel, unfusedData, mode, devices, eager, perGraph, replays);
      const bool graphs = fused.graphError.empty() && unfused.graphError.empty();
      std::printf("  %6d %6d | %12.2f %12.2f | %12.2f %12.2f | %13.2fx\n", tokens, hidden, fused.eagerUs, fused.graphUs, unfused.eagerUs,
                  unfused.graphUs, graphs ? unfused.graphUs / fused.graphUs : unfused.eagerUs / fused.eagerUs);
      for (const Latency* l : {&fused, &unfused}) {
        if (!l->graphError.empty()) std::printf("    (%s: %s; speedup from eager times)\n", l == &fused ? "fused" : "unfused", l->graphError.c_str());
      }
      std::printf("{\"bench\":\"latency\",\"tokens\":%d,\"hidden\":%d,\"ranks\":%d,\"fusedEagerUs\":%.3f,\"fusedGraphUs\":%.3f,"
                  "\"unfusedEagerUs\":%.3f,\"unfusedGraphUs\":%.3f}\n",
                  tokens, hidden, ranks, fused.eagerUs, fused.graphUs, unfused.eagerUs, unfused.graphUs);
      std::fflush(stdout);
    }
  }
  return kExitOk;
}

}  // namespace ulpwise::harness
