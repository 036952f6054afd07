// ulpwise-harness: runs a kernel library (hip/harness/ulpwise_kernel_abi.h) on golden cases.
//
//   ulpwise-harness info [--lib LIB]
//       the library's kernels as JSON (what `ulpwise crosscheck` reads)
//   ulpwise-harness run --golden FILE --out FILE [--lib LIB] [--kernel K]
//                       [--mode emulated|peer] [--device D]
//       runs kernel K on the golden's inputs, twice, with outputs poisoned differently each
//       time: an element that differs between the runs was not written (or is not
//       deterministic). Checks every rank holds the same outputs, then writes a candidate
//       safetensors file with the golden's output names and metadata.
//   ulpwise-harness run-suite --suite DIR --out DIR [--kernel K] [--lib LIB] [--mode M] [--device D]
//       `run` on every case of DIR/manifest.json in one process (one JSON line per case)
//   ulpwise-harness selfcheck [--device D]
//       the kernels' integer sqrt against the device's sqrtf over every positive f32
//   ulpwise-harness bench-bandwidth ... | bench-latency ...   (see bench.hip)
//
// --lib defaults to libulpwise_kernels.so beside this binary. Exit codes: 0 ok, 1 failed
// (a HIP error, unwritten elements, ranks that disagree), 2 usage or bad input, 3 skipped
// (the kernel declines the contract, or peer mode lacks GPUs).
#include "commands.h"
#include "json.h"
#include "../kernels/row_math.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace ulpwise::harness {

// ---- options ----------------------------------------------------------------------------------

Options::Options(const std::vector<std::string>& args, const std::set<std::string>& known) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) throw HarnessError(kExitUsage, "unexpected argument '" + arg + "'");
    const std::string name = arg.substr(2);
    if (known.count(name) == 0) throw HarnessError(kExitUsage, "unknown option '" + arg + "'");
    if (i + 1 >= args.size()) throw HarnessError(kExitUsage, "option '" + arg + "' needs a value");
    if (values_.count(name) != 0) throw HarnessError(kExitUsage, "option '" + arg + "' given twice");
    values_[name] = args[++i];
  }
}

std::string Options::text(const std::string& name, const std::string& fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Options::required(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw HarnessError(kExitUsage, "--" + name + " is required");
  return it->second;
}

int Options::integer(const std::string& name, int fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const long value = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || value < 0 || value > INT_MAX) {
    throw HarnessError(kExitUsage, "--" + name + ": '" + it->second + "' is not a non-negative integer");
  }
  return static_cast<int>(value);
}

std::vector<int> Options::integers(const std::string& name, const std::vector<int>& fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  std::vector<int> out;
  size_t start = 0;
  const std::string& text = it->second;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const long value = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value <= 0 || value > INT_MAX)
      throw HarnessError(kExitUsage, "--" + name + ": '" + text + "' is not a list of positive integers");
    out.push_back(static_cast<int>(value));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string libraryPath(const Options& options) {
  if (options.has("lib")) return options.text("lib", "");
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) throw HarnessError(kExitUsage, "cannot locate the harness binary; pass --lib");
  self[length] = '\0';
  std::string dir(self);
  dir = dir.substr(0, dir.rfind('/'));
  return dir + "/libulpwise_kernels.so";
}

uint32_t rankMode(const Options& options) {
  const std::string mode = options.text("mode", "emulated");
  if (mode == "emulated") return ULPWISE_MODE_EMULATED;
  if (mode == "peer") return ULPWISE_MODE_PEER;
  throw HarnessError(kExitUsage, "--mode: '" + mode + "' is not emulated or peer");
}

namespace {

// ---- info ---------------------------------------------------------------------------------------

int infoCommand(const std::vector<std::string>& args) {
  const Options options(args, {"lib"});
  const KernelLibrary library(libraryPath(options));
  const ulpwise_library_info& info = library.info();
  std::string out = "{\"abi\":" + std::to_string(info.abi_version) + ",\"library\":" + json::quote(info.name) + ",\"path\":" +
                    json::quote(library.path()) + ",\"kernels\":[";
  for (uint32_t k = 0; k < info.kernel_count; k++) {
    const ulpwise_kernel_desc& d = info.kernels[k];
    out += (k > 0 ? "," : "") + std::string("{\"name\":") + json::quote(d.name) + ",\"description\":" + json::quote(d.description) +
           ",\"presets\":";
    if (d.presets == nullptr) {
      out += "null";
    } else {
      out += "[";
      for (const char* const* p = d.presets; *p != nullptr; p++) out += (p != d.presets ? "," : "") + json::quote(*p);
      out += "]";
    }
    out += ",\"modes\":[";
    if (d.modes & ULPWISE_MODE_EMULATED) out += "\"emulated\"";
    if (d.modes & ULPWISE_MODE_PEER) out += std::string((d.modes & ULPWISE_MODE_EMULATED) ? "," : "") + "\"peer\"";
    out += "]}";
  }
  std::cout << out << "]}\n";
  return kExitOk;
}

// ---- run ----------------------------------------------------------------------------------------

constexpr uint8_t kPoisonFirst = 0xff;   // NaN in bf16, f32 and every fp8 format that has one
constexpr uint8_t kPoisonSecond = 0x5a;  // an ordinary finite value

/** Elements whose bytes differ between two buffers, and the first such index. */
struct Difference {
  uint64_t count = 0;
  uint64_t first = 0;
};

Difference compareElements(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, size_t itemBytes) {
  Difference d;
  for (size_t i = 0; i < a.size(); i += itemBytes) {
    if (std::memcmp(&a[i], &b[i], itemBytes) != 0) {
      if (d.count == 0) d.first = i / itemBytes;
      d.count++;
    }
  }
  return d;
}

std::string deviceNames(const std::vector<int>& devices) {
  std::string out = "[";
  for (size_t i = 0; i < devices.size(); i++) {
    hipDeviceProp_t props;
    HIP_CHECK(hipGetDeviceProperties(&props, devices[i]));
    out += (i > 0 ? "," : "") + json::quote(std::to_string(devices[i]) + ": " + props.name);
  }
  return out + "]";
}

/** What one case came to: kExitOk, kExitFailed (with problems) or kExitSkipped (with why). */
struct CaseResult {
  ExitCode code = kExitOk;
  std::string message;
};

/** Runs `kernel` on one golden and writes the candidate; throws HarnessError on bad input. */
CaseResult runCase(const KernelLibrary& library, const ulpwise_kernel_desc& kernel, const std::string& goldenPath, const std::string& outPath,
                   uint32_t mode, int device) {
  const CaseData data = readGoldenCase(goldenPath);
  if (kernel.presets != nullptr) {
    bool listed = false;
    for (const char* const* p = kernel.presets; *p != nullptr; p++) listed = listed || data.preset == *p;
    if (!listed) throw HarnessError(kExitSkipped, std::string("kernel '") + kernel.name + "' does not implement preset '" + data.preset + "'");
  }
  const char* modeName = mode == ULPWISE_MODE_PEER ? "peer" : "emulated";
  if ((kernel.modes & mode) == 0) throw HarnessError(kExitSkipped, std::string("kernel '") + kernel.name + "' does not run in " + modeName + " mode");
  const std::vector<int> devices = rankDevices(mode, data.ranks, device);
  if (mode == ULPWISE_MODE_PEER) enablePeerAccess(devices);

  Session session(library, kernel.name, data, mode, devices);
  session.create();

  // Two runs, outputs poisoned with a different byte each time.
  std::vector<std::vector<std::vector<uint8_t>>> runs;  // [run][rank * kinds + kind]
  for (const uint8_t pattern : {kPoisonFirst, kPoisonSecond}) {
    session.upload();
    session.poison(pattern);
    session.launch(0);
    session.synchronize();
    std::vector<std::vector<uint8_t>> outputs;
    for (int r = 0; r < data.ranks; r++) {
      for (int k = 0; k < kOutputKinds; k++) {
        const OutputKind kind = static_cast<OutputKind>(k);
        outputs.push_back(session.hasOutput(kind) ? session.download(r, kind) : std::vector<uint8_t>{});
      }
    }
    runs.push_back(std::move(outputs));
  }

  std::vector<std::string> problems;
  auto at = [](int rank, int kind) { return static_cast<size_t>(rank * kOutputKinds + kind); };
  for (const OutputSpec& spec : data.outputs) {
    const size_t itemBytes = safetensors::dtypeBytes(spec.dtype);
    const int k = static_cast<int>(spec.kind);
    const int firstRank = spec.rank >= 0 ? spec.rank : 0;
    const int lastRank = spec.rank >= 0 ? spec.rank : data.ranks - 1;
    for (int r = firstRank; r <= lastRank; r++) {
      const Difference unwritten = compareElements(runs[0][at(r, k)], runs[1][at(r, k)], itemBytes);
      if (unwritten.count > 0) {
        problems.push_back("rank " + std::to_string(r) + " " + outputKindName(spec.kind) + ": " + std::to_string(unwritten.count) +
                           " element(s) not written or not deterministic (first at flat index " + std::to_string(unwritten.first) + ")");
      }
      if (spec.rank < 0 && r > 0) {
        const Difference diverged = compareElements(runs[1][at(0, k)], runs[1][at(r, k)], itemBytes);
        if (diverged.count > 0) {
          problems.push_back("rank " + std::to_string(r) + " " + outputKindName(spec.kind) + " differs from rank 0's in " +
                             std::to_string(diverged.count) + " element(s) (first at flat index " + std::to_string(diverged.first) + ")");
        }
      }
    }
  }

  safetensors::File candidate;
  candidate.metadata = data.metadata;
  const std::string provenance = "{\"devices\":" + deviceNames(devices) + ",\"kernel\":" + json::quote(kernel.name) + ",\"library\":" +
                                 json::quote(library.info().name) + ",\"mode\":" + json::quote(modeName) + "}";
  candidate.metadata.emplace_back("ulpwise.candidate", provenance);
  for (const OutputSpec& spec : data.outputs) {
    candidate.tensors.push_back({spec.name, spec.dtype, spec.shape, runs[1][at(spec.rank >= 0 ? spec.rank : 0, static_cast<int>(spec.kind))]});
  }
  safetensors::write(outPath, candidate);

  CaseResult result;
  if (!problems.empty()) {
    result.code = kExitFailed;
    for (const std::string& p : problems) result.message += (result.message.empty() ? "" : "; ") + p;
    result.message += " (wrote rank 0's outputs to " + outPath + ")";
    return result;
  }
  result.message = std::string(kernel.name) + " " + modeName + " " + std::to_string(data.ranks) + " rank(s): wrote " + outPath;
  return result;
}

int runCommand(const std::vector<std::string>& args) {
  const Options options(args, {"golden", "out", "lib", "kernel", "mode", "device"});
  const std::string goldenPath = options.required("golden");
  const std::string outPath = options.required("out");
  const uint32_t mode = rankMode(options);
  const KernelLibrary library(libraryPath(options));
  const ulpwise_kernel_desc& kernel = library.kernel(options.text("kernel", ""));
  const CaseResult result = runCase(library, kernel, goldenPath, outPath, mode, options.integer("device", 0));
  if (result.code != kExitOk) {
    std::cerr << "ulpwise-harness: " << goldenPath << ": " << result.message << "\n";
    return result.code;
  }
  std::cout << "ok " << result.message << "\n";
  return kExitOk;
}

/** The case files of a suite directory's manifest.json, in manifest order. */
std::vector<std::string> manifestFiles(const std::string& dir) {
  std::ifstream in(dir + "/manifest.json");
  if (!in) throw HarnessError(kExitUsage, dir + "/manifest.json: cannot read the manifest (is " + dir + " a suite directory?)");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json::Value manifest;
  try {
    manifest = json::parse(text);
  } catch (const json::JsonError& error) {
    throw HarnessError(kExitUsage, dir + "/manifest.json: " + error.what());
  }
  const json::Value* cases = manifest.isObject() ? manifest.find("cases") : nullptr;
  if (cases == nullptr || !cases->isArray()) throw HarnessError(kExitUsage, dir + "/manifest.json: no 'cases' array");
  std::vector<std::string> files;
  for (const json::Value& entry : cases->items) {
    const json::Value* file = entry.isObject() ? entry.find("file") : nullptr;
    if (file == nullptr || !file->isString() || file->text.find('/') != std::string::npos) {
      throw HarnessError(kExitUsage, dir + "/manifest.json: a case without a plain 'file' name");
    }
    files.push_back(file->text);
  }
  return files;
}

/**
 * run-suite --suite DIR --out DIR --kernel K [--lib LIB] [--mode M] [--device D]: `run` on
 * every case of a suite in one process, writing OUT/<kernel>__<case file>. One JSON line per
 * case: {"file", "kernel", "status": ok|skipped|failed, "message"}. Exit 1 if any failed.
 */
int runSuiteCommand(const std::vector<std::string>& args) {
  const Options options(args, {"suite", "out", "lib", "kernel", "mode", "device"});
  const std::string suite = options.required("suite");
  const std::string outDir = options.required("out");
  const uint32_t mode = rankMode(options);
  const KernelLibrary library(libraryPath(options));
  const ulpwise_kernel_desc& kernel = library.kernel(options.text("kernel", ""));
  int failed = 0;
  for (const std::string& file : manifestFiles(suite)) {
    CaseResult result;
    try {
      result = runCase(library, kernel, suite + "/" + file, outDir + "/" + kernel.name + "__" + file, mode, options.integer("device", 0));
    } catch (const HarnessError& error) {
      result.code = error.code == kExitSkipped ? kExitSkipped : kExitFailed;
      result.message = error.what();
    } catch (const std::exception& error) {
      result.code = kExitFailed;
      result.message = error.what();
    }
    const char* status = result.code == kExitOk ? "ok" : result.code == kExitSkipped ? "skipped" : "failed";
    if (result.code == kExitFailed) failed++;
    std::cout << "{\"file\":" << json::quote(file) << ",\"kernel\":" << json::quote(kernel.name) << ",\"status\":\"" << status
              << "\",\"message\":" << json::quote(result.message) << "}" << std::endl;
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

// ---- selfcheck --------------------------------------------------------------------------------

struct SqrtMismatches {
  unsigned long long count;
  uint32_t firstInput;
};

__global__ void sqrtCheckKernel(uint32_t first, uint32_t count, SqrtMismatches* out) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const uint32_t bits = first + i;
  const uint32_t ours = sqrtF32Bits(bits);
  const uint32_t device = bitsFromF32(sqrtf(f32FromBits(bits)));
  if (ours != device) {
    if (atomicAdd(&out->count, 1ull) == 0) out->firstInput = bits;
  }
}

int selfcheckCommand(const std::vector<std::string>& args) {
  const Options options(args, {"device"});
  HIP_CHECK(hipSetDevice(options.integer("device", 0)));
  SqrtMismatches* mismatches = nullptr;
  HIP_CHECK(hipMalloc(&mismatches, sizeof *mismatches));
  HIP_CHECK(hipMemset(mismatches, 0, sizeof *mismatches));
  // Every non-negative f32 from +0 to +Inf: subnormals, normals, Inf.
  const uint64_t total = 0x7f800001ull;
  const uint32_t chunk = 1u << 28;
  for (uint64_t first = 0; first < total; first += chunk) {
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(chunk, total - first));
    hipLaunchKernelGGL(sqrtCheckKernel, dim3((count + 255) / 256), dim3(256), 0, nullptr, static_cast<uint32_t>(first), count, mismatches);
    HIP_CHECK_LAUNCH();
  }
  SqrtMismatches host{};
  HIP_CHECK(hipMemcpy(&host, mismatches, sizeof host, hipMemcpyDeviceToHost));
  HIP_CHECK(hipFree(mismatches));
  hipDeviceProp_t props;
  HIP_CHECK(hipGetDeviceProperties(&props, options.integer("device", 0)));
  if (host.count == 0) {
    std::cout << "selfcheck: integer sqrt == device sqrtf on all " << total << " non-negative f32 (" << props.name << ")\n";
    return kExitOk;
  }
  char first[64];
  std::snprintf(first, sizeof first, "0x%08x", host.firstInput);
  std::cout << "selfcheck: integer sqrt != device sqrtf on " << host.count << " of " << total << " inputs (first " << first << ") on "
            << props.name << ": the device sqrtf is not correctly rounded there (the kernels use the integer one)\n";
  return kExitFailed;
}

}  // namespace

}  // namespace ulpwise::harness

int main(int argc, char** argv) {
  using namespace ulpwise::harness;
  const std::vector<std::string> args(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "info") return infoCommand(args);
    if (command == "run") return runCommand(args);
    if (command == "run-suite") return runSuiteCommand(args);
    if (command == "selfcheck") return selfcheckCommand(args);
    if (command == "bench-bandwidth") return benchBandwidth(args);
    if (command == "bench-latency") return benchLatency(args);
    std::cerr << "usage: ulpwise-harness info|run|run-suite|selfcheck|bench-bandwidth|bench-latency [options] (see hip/README.md)\n";
    return kExitUsage;
  } catch (const HarnessError& error) {
    std::cerr << "ulpwise-harness: " << error.what() << "\n";
    return error.code;
  } catch (const std::exception& error) {
    std::cerr << "ulpwise-harness: " << error.what() << "\n";
    return kExitFailed;
  }
}
