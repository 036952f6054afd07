#include "session.h"

#include "json.h"

#include <dlfcn.h>

#include <cstring>
#include <regex>

namespace ulpwise::harness {

namespace {

template <typename Fn>
Fn symbol(void* handle, const std::string& path, const char* name) {
  dlerror();
  void* address = dlsym(handle, name);
  if (address == nullptr) throw HarnessError(kExitUsage, path + ": no symbol '" + name + "' (see hip/harness/ulpwise_kernel_abi.h)");
  return reinterpret_cast<Fn>(address);
}

int caseInt(const json::Value& spec, const std::string& source, const char* key) {
  const json::Value* value = spec.isObject() ? spec.find(key) : nullptr;
  uint64_t n = 0;
  if (value == nullptr || !value->asUint64(n) || n == 0 || n > (1u << 30)) {
    throw HarnessError(kExitUsage, source + ": metadata 'ulpwise.case' has no valid '" + key + "'");
  }
  return static_cast<int>(n);
}

std::string shapeText(const std::vector<uint64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); i++) text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

void expectTensor(const safetensors::Tensor* t, const std::string& source, const std::string& name, const std::string& dtype,
                  const std::vector<uint64_t>& shape) {
  if (t == nullptr) throw HarnessError(kExitUsage, source + ": tensor '" + name + "' is missing");
  if (t->dtype != dtype || t->shape != shape) {
    throw HarnessError(kExitUsage, source + ": tensor '" + name + "' is " + t->dtype + " " + shapeText(t->shape) + ", expected " + dtype +
                                       " " + shapeText(shape));
  }
}

/** splitmix64: the same numbers on every machine. */
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

/** bf16 bits with a random sign and mantissa and an exponent field in [low, high]. */
std::vector<uint8_t> randomBf16(Random& random, uint64_t count, int low, int high, bool positive) {
  std::vector<uint8_t> out(count * 2);
  for (uint64_t i = 0; i < count; i++) {
    const uint64_t r = random.next();
    const uint32_t sign = positive ? 0 : static_cast<uint32_t>(r & 1) << 15;
    const uint32_t exponent = static_cast<uint32_t>(low + static_cast<int>((r >> 8) % static_cast<uint64_t>(high - low + 1)));
    const uint16_t bits = static_cast<uint16_t>(sign | (exponent << 7) | ((r >> 1) & 0x7f));
    out[2 * i] = static_cast<uint8_t>(bits);
    out[2 * i + 1] = static_cast<uint8_t>(bits >> 8);
  }
  return out;
}

}  // namespace

// ---- library --------------------------------------------------------------------------------

KernelLibrary::KernelLibrary(const std::string& path) : path_(path) {
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) throw HarnessError(kExitUsage, "cannot load kernel library " + path + ": " + dlerror());
  const auto library = symbol<ulpwise_library_fn>(handle_, path, "ulpwise_library");
  create = symbol<ulpwise_create_fn>(handle_, path, "ulpwise_create");
  launch = symbol<ulpwise_launch_fn>(handle_, path, "ulpwise_launch");
  destroy = symbol<ulpwise_destroy_fn>(handle_, path, "ulpwise_destroy");
  info_ = library();
  if (info_ == nullptr || info_->abi_version != ULPWISE_ABI_VERSION) {
    throw HarnessError(kExitUsage, path + ": built for ABI version " + std::to_string(info_ ? info_->abi_version : 0) + ", the harness speaks " +
                                       std::to_string(ULPWISE_ABI_VERSION));
  }
}

KernelLibrary::~KernelLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

const ulpwise_kernel_desc& KernelLibrary::kernel(const std::string& name) const {
  std::string names;
  for (uint32_t k = 0; k < info_->kernel_count; k++) {
    const ulpwise_kernel_desc& desc = info_->kernels[k];
    if (name == desc.name || (name.empty() && info_->kernel_count == 1)) return desc;
    names += (k > 0 ? ", " : "") + std::string(desc.name);
  }
  if (name.empty()) throw HarnessError(kExitUsage, path_ + " has several kernels; name one with --kernel (" + names + ")");
  throw HarnessError(kExitUsage, path_ + " has no kernel '" + name + "' (it has: " + names + ")");
}

// ---- cases ------------------------------------------------------------------------------------

const char* outputKindName(OutputKind kind) {
  switch (kind) {
    case OutputKind::residual: return "residual";
    case OutputKind::norm: return "norm";
    case OutputKind::q: return "q";
    case OutputKind::scale: return "scale";
  }
  return "?";
}

uint64_t OutputSpec::bytes() const {
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  return count * safetensors::dtypeBytes(dtype);
}

CaseData readGoldenCase(const std::string& path) {
  safetensors::File file;
  try {
    file = safetensors::read(path);
  } catch (const safetensors::FormatError& error) {
    throw HarnessError(kExitUsage, error.what());
  }
  CaseData data;
  data.source = path;
  data.metadata = file.metadata;
  const std::string* preset = file.metadataValue("ulpwise.preset");
  const std::string* contract = file.metadataValue("ulpwise.contract");
  const std::string* spec = file.metadataValue("ulpwise.case");
  if (preset == nullptr || contract == nullptr || spec == nullptr) {
    throw HarnessError(kExitUsage, path + ": metadata lacks ulpwise.preset, ulpwise.contract or ulpwise.case; not an ulpwise golden");
  }
  data.preset = *preset;
  data.contractJson = *contract;
  json::Value specValue;
  try {
    specValue = json::parse(*spec);
  } catch (const json::JsonError& error) {
    throw HarnessError(kExitUsage, path + ": metadata 'ulpwise.case' is not valid JSON: " + error.what());
  }
  data.ranks = caseInt(specValue, path, "ranks");
  data.tokens = caseInt(specValue, path, "tokens");
  data.hidden = caseInt(specValue, path, "hidden");
  const std::vector<uint64_t> matrix = {static_cast<uint64_t>(data.tokens), static_cast<uint64_t>(data.hidden)};

  for (int r = 0; r < data.ranks; r++) {
    const std::string name = "rank" + std::to_string(r) + ".input";
    const safetensors::Tensor* t = file.find(name);
    expectTensor(t, path, name, "BF16", matrix);
    data.inputs.push_back(t->data);
  }
  if (const safetensors::Tensor* residual = file.find("residual")) {
    expectTensor(residual, path, "residual", "BF16", matrix);
    data.residual = residual->data;
  }
  const safetensors::Tensor* weight = file.find("weight");
  if (weight == nullptr) throw HarnessError(kExitUsage, path + ": tensor 'weight' is missing");
  expectTensor(weight, path, "weight", weight->dtype == "F32" ? "F32" : "BF16", {static_cast<uint64_t>(data.hidden)});
  data.weight = weight->data;

  static const std::regex outputName(R"(^(?:rank(\d+)\.)?out\.(residual|norm|q|scale)$)");
  for (const safetensors::Tensor& t : file.tensors) {
    std::smatch match;
    if (!std::regex_match(t.name, match, outputName)) continue;
    OutputSpec spec;
    spec.name = t.name;
    spec.rank = match[1].matched ? std::stoi(match[1].str()) : -1;
    const std::string kind = match[2].str();
    spec.kind = kind == "residual" ? OutputKind::residual : kind == "norm" ? OutputKind::norm : kind == "q" ? OutputKind::q : OutputKind::scale;
    spec.dtype = t.dtype;
    spec.shape = t.shape;
    if (spec.rank >= data.ranks) throw HarnessError(kExitUsage, path + ": output '" + t.name + "' names a rank the case does not have");
    const bool isMatrix = spec.kind != OutputKind::scale;
    if (isMatrix && spec.shape != matrix) throw HarnessError(kExitUsage, path + ": output '" + t.name + "' is not [tokens, hidden]");
    if ((spec.kind == OutputKind::residual || spec.kind == OutputKind::norm) && spec.dtype != "BF16") {
      throw HarnessError(kExitUsage, path + ": output '" + t.name + "' must be BF16");
    }
    // I32 scales are packed UE8M0 words: read here so that the contract parser refuses
    // 'packed-ue8m0' by name and the case is skipped, not failed (no kernel here writes them).
    if (spec.kind == OutputKind::scale && ((spec.dtype != "F32" && spec.dtype != "I32") || spec.shape.size() != 2)) {
      throw HarnessError(kExitUsage, path + ": output '" + t.name + "' must be F32 [tokens, groups] or [groups, tokens], or I32 packed UE8M0 words");
    }
    data.outputs.push_back(spec);
  }
  if (data.outputs.empty()) throw HarnessError(kExitUsage, path + ": no output tensors (out.*) to compare against");
  return data;
}

CaseData syntheticCase(const CaseData& golden, int ranks, int tokens, int hidden, uint64_t seed) {
  CaseData data;
  data.source = golden.source + " (synthetic " + std::to_string(ranks) + "x" + std::to_string(tokens) + "x" + std::to_string(hidden) + ")";
  data.preset = golden.preset;
  data.contractJson = golden.contractJson;
  data.ranks = ranks;
  data.tokens = tokens;
  data.hidden = hidden;
  Random random(seed);
  const uint64_t elements = static_cast<uint64_t>(tokens) * hidden;
  // Activations around 2^-7..2^3, weights around 0.5..2: the magnitudes of a real layer.
  for (int r = 0; r < ranks; r++) data.inputs.push_back(randomBf16(random, elements, 120, 130, false));
  if (!golden.residual.empty()) data.residual = randomBf16(random, elements, 120, 130, false);
  if (golden.weight.size() == static_cast<size_t>(golden.hidden) * 4) {
    const std::vector<uint8_t> bf16 = randomBf16(random, static_cast<uint64_t>(hidden), 126, 127, true);
    data.weight.assign(static_cast<size_t>(hidden) * 4, 0);
    for (int h = 0; h < hidden; h++) {
      data.weight[4 * h + 2] = bf16[2 * h];
      data.weight[4 * h + 3] = bf16[2 * h + 1];
    }
  } else {
    data.weight = randomBf16(random, static_cast<uint64_t>(hidden), 126, 127, true);
  }
  for (const OutputSpec& spec : golden.outputs) {
    OutputSpec out = spec;
    if (spec.kind == OutputKind::scale) {
      const bool rowMajor = spec.shape[0] == static_cast<uint64_t>(golden.tokens) && spec.shape[1] != static_cast<uint64_t>(golden.tokens);
      const uint64_t group = static_cast<uint64_t>(golden.hidden) / (rowMajor ? spec.shape[1] : spec.shape[0]);
      const uint64_t groups = static_cast<uint64_t>(hidden) / group;
      out.shape = rowMajor ? std::vector<uint64_t>{static_cast<uint64_t>(tokens), groups} : std::vector<uint64_t>{groups, static_cast<uint64_t>(tokens)};
    } else {
      out.shape = {static_cast<uint64_t>(tokens), static_cast<uint64_t>(hidden)};
    }
    data.outputs.push_back(out);
  }
  return data;
}

// ---- devices ----------------------------------------------------------------------------------

void enablePeerAccess(const std::vector<int>& devices) {
  for (int a : devices) {
    for (int b : devices) {
      if (a == b) continue;
      int can = 0;
      HIP_CHECK(hipDeviceCanAccessPeer(&can, a, b));
      if (!can) throw HarnessError(kExitFailed, "GPU " + std::to_string(a) + " cannot access GPU " + std::to_string(b) + "'s memory (no peer access)");
      HIP_CHECK(hipSetDevice(a));
      const hipError_t status = hipDeviceEnablePeerAccess(b, 0);
      if (status == hipErrorPeerAccessAlreadyEnabled) {
        (void)hipGetLastError();  // clear the sticky-free error so the next check does not see it
      } else {
        HIP_CHECK(status);
      }
    }
  }
}

std::vector<int> rankDevices(uint32_t mode, int ranks, int device) {
  int count = 0;
  HIP_CHECK(hipGetDeviceCount(&count));
  if (mode == ULPWISE_MODE_EMULATED) {
    if (device < 0 || device >= count) throw HarnessError(kExitUsage, "--device " + std::to_string(device) + ": " + std::to_string(count) + " GPU(s) visible");
    return std::vector<int>(static_cast<size_t>(ranks), device);
  }
  if (ranks > count) {
    throw HarnessError(kExitSkipped, "peer mode needs one GPU per rank: the case has " + std::to_string(ranks) + " ranks but " +
                                         std::to_string(count) + " GPU(s) are visible (use --mode emulated, or a machine with " +
                                         std::to_string(ranks) + " GPUs)");
  }
  std::vector<int> devices;
  for (int r = 0; r < ranks; r++) devices.push_back(r);
  return devices;
}

// ---- session ----------------------------------------------------------------------------------

Session::Session(const KernelLibrary& library, const std::string& kernel, const CaseData& data, uint32_t mode, const std::vector<int>& devices)
    : library_(library), kernel_(kernel), data_(data), mode_(mode), devices_(devices) {
  for (const OutputSpec& spec : data_.outputs) {
    uint64_t& bytes = outputBytes_[static_cast<int>(spec.kind)];
    if (bytes != 0 && bytes != spec.bytes())
      throw HarnessError(kExitUsage, data_.source + ": outputs of kind " + outputKindName(spec.kind) + " differ in size");
    bytes = spec.bytes();
  }
  const size_t matrixBytes = static_cast<size_t>(data_.tokens) * data_.hidden * 2;
  ranks_.resize(static_cast<size_t>(data_.ranks));
  for (int r = 0; r < data_.ranks; r++) {
    RankBuffers& b = ranks_[static_cast<size_t>(r)];
    b.device = devices_[static_cast<size_t>(r)];
    HIP_CHECK(hipSetDevice(b.device));
    HIP_CHECK(hipStreamCreateWithFlags(&b.stream, hipStreamNonBlocking));
    HIP_CHECK(hipMalloc(&b.input, matrixBytes));
    if (!data_.residual.empty()) HIP_CHECK(hipMalloc(&b.residual, matrixBytes));
    HIP_CHECK(hipMalloc(&b.weight, data_.weight.size()));
    for (int k = 0; k < kOutputKinds; k++) {
      b.outputBytes[k] = outputBytes_[k];
      if (outputBytes_[k] != 0) HIP_CHECK(hipMalloc(&b.outputs[k], outputBytes_[k]));
    }
    hipEvent_t fork, join;
    HIP_CHECK(hipEventCreate(&fork));
    HIP_CHECK(hipEventCreate(&join));
    forkEvents_.push_back(fork);
    joinEvents_.push_back(join);
  }
  upload();
}

Session::~Session() {
  if (context_ != nullptr) library_.destroy(context_);
  for (size_t r = 0; r < ranks_.size(); r++) {
    RankBuffers& b = ranks_[r];
    (void)hipSetDevice(b.device);
    (void)hipStreamSynchronize(b.stream);
    (void)hipFree(b.input);
    if (b.residual != nullptr) (void)hipFree(b.residual);
    (void)hipFree(b.weight);
    for (void* p : b.outputs) {
      if (p != nullptr) (void)hipFree(p);
    }
    (void)hipEventDestroy(forkEvents_[r]);
    (void)hipEventDestroy(joinEvents_[r]);
    (void)hipStreamDestroy(b.stream);
  }
}

void Session::create() {
  std::vector<ulpwise_rank_io> io(ranks_.size());
  for (size_t r = 0; r < ranks_.size(); r++) {
    const RankBuffers& b = ranks_[r];
    io[r] = ulpwise_rank_io{b.stream, b.input, b.residual, b.weight, b.outputs[0], b.outputs[1], b.outputs[2], b.outputs[3]};
  }
  const ulpwise_problem problem{kernel_.c_str(), data_.preset.c_str(), data_.contractJson.c_str(), data_.ranks, data_.tokens,
                                data_.hidden, mode_, devices_.data()};
  char error[1024] = "";
  int device = 0;
  HIP_CHECK(hipGetDevice(&device));
  const int status = library_.create(&problem, io.data(), &context_, error, sizeof error);
  HIP_CHECK(hipSetDevice(device));
  if (status == ULPWISE_UNSUPPORTED) throw HarnessError(kExitSkipped, "kernel '" + kernel_ + "' declines " + data_.source + ": " + error);
  if (status != ULPWISE_OK) throw HarnessError(kExitFailed, "ulpwise_create (" + kernel_ + ") failed: " + error);
}

void Session::upload() {
  for (size_t r = 0; r < ranks_.size(); r++) {
    const RankBuffers& b = ranks_[r];
    HIP_CHECK(hipSetDevice(b.device));
    HIP_CHECK(hipMemcpy(b.input, data_.inputs[r].data(), data_.inputs[r].size(), hipMemcpyHostToDevice));
    if (b.residual != nullptr) HIP_CHECK(hipMemcpy(b.residual, data_.residual.data(), data_.residual.size(), hipMemcpyHostToDevice));
    HIP_CHECK(hipMemcpy(b.weight, data_.weight.data(), data_.weight.size(), hipMemcpyHostToDevice));
  }
  synchronize();
}

void Session::poison(uint8_t pattern) {
  for (const RankBuffers& b : ranks_) {
    HIP_CHECK(hipSetDevice(b.device));
    for (int k = 0; k < kOutputKinds; k++) {
      if (b.outputs[k] != nullptr) HIP_CHECK(hipMemsetAsync(b.outputs[k], pattern, b.outputBytes[k], b.stream));
    }
  }
  synchronize();
}

void Session::launch(uint32_t flags) {
  // Fork: every rank's stream starts after rank 0's; join: rank 0's waits for all. Events on
  // rank 0's stream then time the whole all-reduce, and a capture of it holds every rank.
  HIP_CHECK(hipSetDevice(ranks_[0].device));
  HIP_CHECK(hipEventRecord(forkEvents_[0], ranks_[0].stream));
  for (size_t r = 1; r < ranks_.size(); r++) {
    HIP_CHECK(hipSetDevice(ranks_[r].device));
    HIP_CHECK(hipStreamWaitEvent(ranks_[r].stream, forkEvents_[0], 0));
  }
  char error[1024] = "";
  const int status = library_.launch(context_, flags, error, sizeof error);
  if (status != ULPWISE_OK) throw HarnessError(kExitFailed, "ulpwise_launch (" + kernel_ + ") failed: " + error);
  for (size_t r = 1; r < ranks_.size(); r++) {
    HIP_CHECK(hipSetDevice(ranks_[r].device));
    HIP_CHECK(hipEventRecord(joinEvents_[r], ranks_[r].stream));
    HIP_CHECK(hipSetDevice(ranks_[0].device));
    HIP_CHECK(hipStreamWaitEvent(ranks_[0].stream, joinEvents_[r], 0));
  }
  HIP_CHECK(hipSetDevice(ranks_[0].device));
}

void Session::synchronize() {
  for (const RankBuffers& b : ranks_) {
    HIP_CHECK(hipSetDevice(b.device));
    HIP_CHECK(hipStreamSynchronize(b.stream));
    HIP_CHECK(hipGetLastError());
  }
  HIP_CHECK(hipSetDevice(ranks_[0].device));
}

std::vector<uint8_t> Session::download(int rank, OutputKind kind) const {
  const RankBuffers& b = ranks_[static_cast<size_t>(rank)];
  const int k = static_cast<int>(kind);
  std::vector<uint8_t> out(b.outputBytes[k]);
  HIP_CHECK(hipSetDevice(b.device));
  HIP_CHECK(hipMemcpy(out.data(), b.outputs[k], out.size(), hipMemcpyDeviceToHost));
  return out;
}

}  // namespace ulpwise::harness
