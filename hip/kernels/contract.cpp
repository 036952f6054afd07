// Canonical contract JSON (src/contracts/schema.ts, schema v2) -> Contract, as strictly as the
// zod schema reads it: every object is strict (an unknown key is an error at the object's path),
// every number is bounded by LIMITS, the cross-field rules of the schema's superRefine are
// checked with the same paths. Only then is a value the schema allows but no kernel here
// computes refused, so an invalid contract is never reported as merely unsupported.
#include "contract.h"

#include "../harness/json.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <vector>

namespace ulpwise {

namespace {

using json::Value;

/** Largest finite f32 as the schema writes it (positiveF32's max). */
constexpr double kMaxF32 = 3.4028234663852886e38;

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

std::string shownPath(const std::string& path) { return path.empty() ? "(root)" : path; }

[[noreturn]] void invalid(const std::string& path, const std::string& problem) {
  throw ContractInvalid("contract " + shownPath(path) + ": " + problem);
}

/** The value as the error messages show it (strings quoted, numbers as written). */
std::string shown(const Value& value) {
  switch (value.kind) {
    case Value::Kind::null: return "null";
    case Value::Kind::boolean: return value.boolean ? "true" : "false";
    case Value::Kind::number: return value.text;
    case Value::Kind::string: return "'" + value.text + "'";
    case Value::Kind::array: return "an array";
    case Value::Kind::object: return "an object";
  }
  return "?";
}

/**
 * Reads one strict object: every key must be one the caller asks for. The constructor rejects
 * keys outside `keys` (a misspelt key is named with the object's path); each accessor then
 * rejects a missing key or a value of the wrong type or range.
 */
class ObjectReader {
 public:
  ObjectReader(const Value& value, std::string path, std::initializer_list<const char*> keys) : value_(value), path_(std::move(path)) {
    if (!value.isObject()) invalid(path_, "expected an object, got " + shown(value));
    for (const auto& member : value.members) {
      bool known = false;
      for (const char* key : keys) known = known || member.first == key;
      if (!known) invalid(path_, "unknown key '" + member.first + "'");
    }
  }

  std::string pathOf(const std::string& key) const { return join(path_, key); }

  const Value& at(const std::string& key) const {
    const Value* value = value_.find(key);
    if (value == nullptr) invalid(pathOf(key), "missing (canonical contract JSON carries every field)");
    return *value;
  }
  bool has(const std::string& key) const { return value_.find(key) != nullptr; }

  /** A field added to schema v2 with a zod default (allReduce.negativeZeroInputs,
   *  tree[butterfly].tailWarp, norm.epsAdd): absent, it takes its default's index, so contract
   *  JSON written before it existed still reads. */
  int choiceOr(const std::string& key, std::initializer_list<const char*> names, int absent) const {
    return has(key) ? choice(key, names) : absent;
  }

  /** One of `names`, as its index. */
  int choice(const std::string& key, std::initializer_list<const char*> names) const { return choiceOf(at(key), pathOf(key), names); }

  static int choiceOf(const Value& value, const std::string& path, std::initializer_list<const char*> names) {
    std::string list;
    int index = 0;
    for (const char* name : names) {
      if (value.isString() && value.text == name) return index;
      list += (index++ == 0 ? "'" : ", '") + std::string(name) + "'";
    }
    invalid(path, "expected one of " + list + ", got " + shown(value));
  }

  /** One of the integer literals `values`, as its index. */
  int literal(const std::string& key, std::initializer_list<int> values) const {
    const Value& value = at(key);
    std::string list;
    int index = 0;
    for (const int v : values) {
      if (value.isNumber() && value.asDouble() == v) return index;
      list += (index++ == 0 ? "" : ", ") + std::to_string(v);
    }
    invalid(pathOf(key), "expected one of " + list + ", got " + shown(value));
  }

  bool boolean(const std::string& key) const {
    const Value& value = at(key);
    if (value.kind != Value::Kind::boolean) invalid(pathOf(key), "expected true or false, got " + shown(value));
    return value.boolean;
  }

  int32_t integer(const std::string& key, int32_t min, int32_t max) const { return integerOf(at(key), pathOf(key), min, max); }

  static int32_t integerOf(const Value& value, const std::string& path, int32_t min, int32_t max) {
    const std::string expected = "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got ";
    if (!value.isNumber()) invalid(path, expected + shown(value));
    const double n = value.asDouble();
    if (!(n >= min && n <= max) || n != std::floor(n)) invalid(path, expected + value.text);
    return static_cast<int32_t>(n);
  }

  /** A finite positive f32-representable number (schema positiveF32, optionally capped), as
   *  fround(value) bits: the double nearest the literal, then the float nearest that, as JS. */
  uint32_t positiveF32(const std::string& key, double max = kMaxF32) const { return positiveF32Of(at(key), pathOf(key), max); }

  static uint32_t positiveF32Of(const Value& value, const std::string& path, double max = kMaxF32) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%.17g", max);
    const std::string expected = std::string("expected a number in (0, ") + bound + "], got ";
    if (!value.isNumber()) invalid(path, expected + shown(value));
    const double n = value.asDouble();
    if (!(n > 0 && n <= max)) invalid(path, expected + value.text);
    return bitsFromF32(static_cast<float>(n));
  }

 private:
  const Value& value_;
  std::string path_;
};

/** The first valid-but-unimplemented value met while parsing: thrown only once the whole
 *  contract has been checked, so a contract that is also invalid is reported as invalid. */
class Refusals {
 public:
  void refuse(const std::string& path, const std::string& value, const std::string& why) {
    if (first_.empty()) first_ = "not implemented by the HIP kernels: " + path + " = " + value + " (" + why + ")";
  }
  void throwIfAny() const {
    if (!first_.empty()) throw ContractUnsupported(first_);
  }

 private:
  std::string first_;
};

constexpr std::initializer_list<const char*> kBf16Roundings = {"rne", "truncate"};
Bf16Rounding bf16RoundingAt(const ObjectReader& o, const char* key) {
  return o.choice(key, kBf16Roundings) == 0 ? Bf16Rounding::rne : Bf16Rounding::truncate;
}

/** Reads an NCCL multi-channel order as schema.ts does (to reject what zod rejects, with its path);
 *  the kernels compute none of it. */
void parseNcclOrder(const Value& orderValue, const std::string& orderPath, bool ring) {
  constexpr int kMaxChannels = 64;
  const char* listKey = ring ? "rings" : "chains";
  const ObjectReader order = ring ? ObjectReader(orderValue, orderPath, {"kind", "protocol", "channels", "rings", "buffSize"})
                                  : ObjectReader(orderValue, orderPath, {"kind", "protocol", "channels", "chains"});
  order.choice("protocol", {"simple", "ll", "ll128"});
  order.integer("channels", 1, kMaxChannels);
  const Value& lists = order.at(listKey);
  const std::string listsPath = order.pathOf(listKey);
  const auto checkArray = [](const Value& value, const std::string& path, size_t most) {
    if (!value.isArray()) invalid(path, "expected an array, got " + shown(value));
    if (value.items.empty()) invalid(path, "expected at least 1 item, got none");
    if (value.items.size() > most) invalid(path, "expected at most " + std::to_string(most) + " items, got " + std::to_string(value.items.size()));
  };
  checkArray(lists, listsPath, kMaxChannels);
  for (size_t c = 0; c < lists.items.size(); c++) {
    const std::string channelPath = join(listsPath, std::to_string(c));
    checkArray(lists.items[c], channelPath, ContractLimits::ranks);
    for (size_t i = 0; i < lists.items[c].items.size(); i++) {
      ObjectReader::integerOf(lists.items[c].items[i], join(channelPath, std::to_string(i)), 0, ContractLimits::ranks - 1);
    }
  }
  if (ring && order.has("buffSize")) {
    const Value& buffSize = order.at("buffSize");
    if (!(buffSize.isString() && buffSize.text == "default")) ObjectReader::integerOf(buffSize, order.pathOf("buffSize"), 1 << 14, 1 << 26);
  }
}

void parseAllReduce(const ObjectReader& root, AllReduceContract& out, Refusals& refusals) {
  const ObjectReader ar(root.at("allReduce"), "allReduce", {"order", "accumulate", "roundResult", "negativeZeroInputs"});
  out = AllReduceContract{};
  for (int r = 0; r < kMaxRanks; r++) out.ringOrder[r] = static_cast<int8_t>(r);
  const Value& orderValue = ar.at("order");
  const std::string orderPath = ar.pathOf("order");
  if (!orderValue.isObject()) invalid(orderPath, "expected an object, got " + shown(orderValue));
  const Value* kindValue = orderValue.find("kind");
  if (kindValue == nullptr) invalid(join(orderPath, "kind"), "missing");
  const int kind = ObjectReader::choiceOf(*kindValue, join(orderPath, "kind"), {"natural", "rotated", "own-first", "ring", "nccl-ring", "nccl-tree"});
  if (kind == 0) {
    const ObjectReader order(orderValue, orderPath, {"kind"});
  } else if (kind == 1) {
    const ObjectReader order(orderValue, orderPath, {"kind", "packElems"});
    order.integer("packElems", 1, ContractLimits::packElems);
    refusals.refuse(order.pathOf("kind"), "'rotated'", "the kernels sum every element in natural or ring order");
  } else if (kind == 2) {
    const ObjectReader order(orderValue, orderPath, {"kind"});
    refusals.refuse(order.pathOf("kind"), "'own-first'", "own-first leaves the ranks with different sums; the harness needs them equal");
  } else if (kind == 4 || kind == 5) {
    parseNcclOrder(orderValue, orderPath, kind == 4);
    refusals.refuse(join(orderPath, "kind"), kind == 4 ? "'nccl-ring'" : "'nccl-tree'", "the kernels sum every element in natural or one-channel ring order");
  } else {
    const ObjectReader order(orderValue, orderPath, {"kind", "ring", "chunkAlignElems"});
    out.ring = true;
    out.ringChunkAlign = order.integer("chunkAlignElems", 1, ContractLimits::packElems);
    if (order.has("ring")) {
      const Value& ring = order.at("ring");
      const std::string ringPath = order.pathOf("ring");
      if (!ring.isArray()) invalid(ringPath, "expected an array, got " + shown(ring));
      if (ring.items.size() > static_cast<size_t>(ContractLimits::ranks)) {
        invalid(ringPath, "expected at most " + std::to_string(ContractLimits::ranks) + " ranks, got " + std::to_string(ring.items.size()));
      }
      std::string listed = "[";
      for (size_t i = 0; i < ring.items.size(); i++) {
        const int32_t r = ObjectReader::integerOf(ring.items[i], join(ringPath, std::to_string(i)), 0, ContractLimits::ranks - 1);
        listed += (i ? "," : "") + std::to_string(r);
        if (i < static_cast<size_t>(kMaxRanks)) out.ringOrder[i] = static_cast<int8_t>(r);
        if (r >= kMaxRanks) refusals.refuse(join(ringPath, std::to_string(i)), std::to_string(r), "the kernels take at most 8 ranks");
      }
      if (ring.items.size() > static_cast<size_t>(kMaxRanks)) refusals.refuse(ringPath, listed + "]", "the kernels take at most 8 ranks");
      out.ringLength = static_cast<int8_t>(ring.items.size() > static_cast<size_t>(kMaxRanks) ? kMaxRanks : ring.items.size());
    }
  }
  out.bf16Accumulate = ar.choice("accumulate", {"f32", "bf16"}) == 1;
  out.roundResult = ar.choice("roundResult", {"none", "bf16"}) == 1;
  out.negativeZeroToPositive = ar.choiceOr("negativeZeroInputs", {"keep", "positive"}, 0) == 1;
}

void parseSumOfSquares(const ObjectReader& norm, NormContract& out, Refusals& refusals) {
  const ObjectReader sos(norm.at("sumOfSquares"), norm.pathOf("sumOfSquares"), {"perThread", "tree"});
  const PerThreadPattern patterns[] = {PerThreadPattern::chain, PerThreadPattern::fmaChain, PerThreadPattern::pair, PerThreadPattern::pairFma};
  out.perThread = patterns[sos.choice("perThread", {"chain", "fma-chain", "pair", "pair-fma"})];

  const Value& treeValue = sos.at("tree");
  const std::string treePath = sos.pathOf("tree");
  if (!treeValue.isObject()) invalid(treePath, "expected an object, got " + shown(treeValue));
  const Value* kindValue = treeValue.find("kind");
  if (kindValue == nullptr) invalid(join(treePath, "kind"), "missing");
  const int kind = ObjectReader::choiceOf(*kindValue, join(treePath, "kind"),
                                          {"sequential", "butterfly", "cub", "dpp-wave64", "smem-halving", "triton-sum", "cluster",
                                           "torch-reduce", "torch-rms-norm", "inductor-sum"});
  out.cubBlock = 0;
  out.cubVectorWidth = 1;
  out.halvingBlock = 0;
  out.butterflyDropsTailWarp = false;
  const std::string kindPath = join(treePath, "kind");
  switch (kind) {
    case 0: {
      const ObjectReader tree(treeValue, treePath, {"kind"});
      out.tree = SumTree::sequential;
      break;
    }
    case 1: {
      const ObjectReader tree(treeValue, treePath, {"kind", "perThread", "warpSize", "tailWarp"});
      out.tree = SumTree::butterfly;
      out.butterflyDropsTailWarp = tree.choiceOr("tailWarp", {"pad", "drop"}, 0) == 1;
      if (tree.integer("perThread", 1, ContractLimits::perThread) != kPackElems) {
        refusals.refuse(tree.pathOf("perThread"), tree.at("perThread").text, "the butterfly kernels give each thread one 16-byte pack of 8");
      }
      if (tree.literal("warpSize", {32, 64}) != 0) {
        refusals.refuse(tree.pathOf("warpSize"), "64", "the trees run on 32-lane logical warps");
      }
      break;
    }
    case 2: {
      const ObjectReader tree(treeValue, treePath, {"kind", "blockSize", "warpSize", "vectorWidth"});
      out.tree = SumTree::cub;
      const Value& block = tree.at("blockSize");
      if (!(block.isString() && block.text == "vllm")) {
        if (block.isString()) invalid(tree.pathOf("blockSize"), "expected 'vllm' or an integer, got " + shown(block));
        out.cubBlock = ObjectReader::integerOf(block, tree.pathOf("blockSize"), 1, ContractLimits::blockThreads);
      }
      if (tree.literal("warpSize", {32, 64}) != 0) refusals.refuse(tree.pathOf("warpSize"), "64", "the trees run on 32-lane logical warps");
      const int widths[] = {1, 2, 4, 8};
      out.cubVectorWidth = widths[tree.literal("vectorWidth", {1, 2, 4, 8})];
      break;
    }
    case 3: {
      const ObjectReader tree(treeValue, treePath, {"kind", "blockSize", "perThread", "layout"});
      tree.integer("blockSize", 64, ContractLimits::blockThreads);
      tree.integer("perThread", 1, ContractLimits::perThread);
      tree.choice("layout", {"contiguous", "interleaved"});
      refusals.refuse(kindPath, "'dpp-wave64'", "aiter's DPP wave64 tree is not written here");
      break;
    }
    case 4: {
      const ObjectReader tree(treeValue, treePath, {"kind", "blockSize", "perThread"});
      out.tree = SumTree::smemHalving;
      out.halvingBlock = tree.integer("blockSize", 64, ContractLimits::blockThreads);
      if (tree.integer("perThread", 1, ContractLimits::perThread) != kPackElems) {
        refusals.refuse(tree.pathOf("perThread"), tree.at("perThread").text, "the halving kernel gives each thread 16-byte packs of 8");
      }
      break;
    }
    case 5: {
      const ObjectReader tree(treeValue, treePath, {"kind", "block", "numWarps", "warpSize", "sizePerThread", "threadReduce"});
      tree.integer("block", 1, ContractLimits::hidden);
      tree.literal("numWarps", {1, 2, 4, 8, 16, 32});
      tree.literal("warpSize", {32, 64});
      tree.integer("sizePerThread", 1, ContractLimits::perThread);
      tree.choice("threadReduce", {"tree", "chain"});
      refusals.refuse(kindPath, "'triton-sum'", "Triton's tl.sum layout is not written here");
      break;
    }
    case 7: {
      const ObjectReader tree(treeValue, treePath, {"kind", "warpShuffle"});
      tree.choice("warpShuffle", {"decreasing", "increasing"});
      refusals.refuse(kindPath, "'torch-reduce'", "torch's Reduce.cuh tree is not written here");
      break;
    }
    case 8: {
      const ObjectReader tree(treeValue, treePath, {"kind"});
      refusals.refuse(kindPath, "'torch-rms-norm'", "torch's fused layer-norm tree is not written here");
      break;
    }
    case 9: {
      const ObjectReader tree(treeValue, treePath, {"kind", "rBlock", "sizePerThread", "numWarps"});
      tree.integer("rBlock", 32, ContractLimits::hidden);
      tree.integer("sizePerThread", 1, ContractLimits::perThread);
      tree.literal("numWarps", {1, 2, 4, 8, 16, 32});
      refusals.refuse(kindPath, "'inductor-sum'", "Inductor's Triton reduction is not written here");
      break;
    }
    case 6: {
      const ObjectReader tree(treeValue, treePath, {"kind", "smCount", "perThread", "maxClusterSize", "launch", "maxThreadsPerBlock"});
      tree.integer("smCount", 1, ContractLimits::smCount);
      tree.integer("perThread", 1, ContractLimits::perThread);
      tree.integer("maxClusterSize", 1, 16);
      tree.choice("launch", {"oneshot", "twoshot"});
      tree.integer("maxThreadsPerBlock", 32, ContractLimits::blockThreads);
      refusals.refuse(kindPath, "'cluster'", "thread-block clusters are not written here");
      break;
    }
  }
}

void parseNorm(const ObjectReader& root, NormContract& out, Refusals& refusals) {
  const ObjectReader norm(root.at("norm"), "norm",
                         {"input", "sumOfSquares", "variance", "eps", "weight", "multiplyOrder", "roundIntermediate", "epsAdd"});
  const int input = norm.choice("input", {"f32", "bf16", "f32-squares-bf16-normalize"});
  out.inputBf16 = input == 1;
  out.inputF32SquaresBf16Normalize = input == 2;
  if (out.inputF32SquaresBf16Normalize) {
    refusals.refuse(norm.pathOf("input"), "'f32-squares-bf16-normalize'", "the kernels normalize the value they squared");
  }
  parseSumOfSquares(norm, out, refusals);
  const int variance = norm.choice("variance", {"divide", "reciprocal-multiply", "reciprocal-fma"});
  out.varianceReciprocal = variance == 1;
  if (variance == 2) refusals.refuse(norm.pathOf("variance"), "'reciprocal-fma'", "the kernels add eps after rounding the mean square");
  out.epsBits = norm.positiveF32("eps", 1.0);
  if (norm.choiceOr("epsAdd", {"f32", "f64"}, 0) == 1) refusals.refuse(norm.pathOf("epsAdd"), "'f64'", "the kernels add eps in f32");
  const ObjectReader weight(norm.at("weight"), norm.pathOf("weight"), {"dtype", "castToBf16", "offset"});
  out.weightF32 = weight.choice("dtype", {"bf16", "f32"}) == 1;
  out.weightCastToBf16 = weight.boolean("castToBf16");
  const WeightOffset offsets[] = {WeightOffset::none, WeightOffset::f32, WeightOffset::bf16};
  out.weightOffset = offsets[weight.choice("offset", {"none", "f32", "bf16"})];
  out.multiplyXWRstd = norm.choice("multiplyOrder", {"x-rstd-w", "x-w-rstd"}) == 1;
  out.roundIntermediate = norm.boolean("roundIntermediate");
}

/** hardwareOps: 'ieee' and 'inferred' both compute the correctly rounded value, which is what a
 *  golden holds for an inferred slot (diff and explain infer the deviation of the approximate
 *  instruction). 'sm90' and 'sm90-div-full' are sm_90's own instructions, which an NVIDIA build
 *  runs as inline PTX (row_math.h); an AMD build has no such instruction (v_rsq_f32 and
 *  v_rcp_f32 are gfx9's own approximations, not sm_90's), and a host build runs no kernel. */
void parseHardwareOps(const ObjectReader& root, HardwareOpsContract& out, BuildTarget target, Refusals& refusals) {
  const ObjectReader ops(root.at("hardwareOps"), "hardwareOps", {"rsqrt", "reciprocal", "divide"});
  out.rsqrtSm90 = ops.choice("rsqrt", {"ieee", "inferred", "sm90"}) == 2;
  out.reciprocalSm90 = ops.choice("reciprocal", {"ieee", "inferred", "sm90"}) == 2;
  out.divideSm90 = ops.choice("divide", {"ieee", "inferred", "sm90-div-full"}) == 2;
  if (target == BuildTarget::nvidia) return;
  const char* const why = target == BuildTarget::amd ? "an AMD build has no sm_90 instruction; v_rsq_f32 and v_rcp_f32 are not sm_90's"
                                                     : "sm_90's instructions run only in an NVIDIA build";
  if (out.rsqrtSm90) refusals.refuse(ops.pathOf("rsqrt"), "'sm90'", why);
  if (out.reciprocalSm90) refusals.refuse(ops.pathOf("reciprocal"), "'sm90'", why);
  if (out.divideSm90) refusals.refuse(ops.pathOf("divide"), "'sm90-div-full'", why);
}

void parseQuant(const ObjectReader& root, QuantContract& out, Refusals& refusals) {
  out = QuantContract{};
  const Value& value = root.at("quant");
  if (value.isNull()) return;
  const ObjectReader q(value, "quant",
                       {"groupSize", "format", "input", "staticScale", "divisor", "amaxFloor", "scaleFloor", "zeroAmaxScaleOne", "scale", "ue8m0",
                        "quantize", "clamp", "saturation", "scaleLayout", "bf16SideOutput"});
  out.enabled = true;
  const Value& group = q.at("groupSize");
  if (group.isString()) {
    if (group.text != "token") invalid(q.pathOf("groupSize"), "expected 'token' or an integer, got " + shown(group));
    out.groupSize = 0;
  } else {
    out.groupSize = ObjectReader::integerOf(group, q.pathOf("groupSize"), 1, ContractLimits::groupSize);
  }
  const Fp8Format formats[] = {Fp8Format::e4m3fn, Fp8Format::e4m3fnuz, Fp8Format::e5m2, Fp8Format::e5m2fnuz};
  out.format = formats[q.choice("format", {"e4m3fn", "e4m3fnuz", "e5m2", "e5m2fnuz"})];
  out.inputBf16 = q.choice("input", {"f32", "bf16"}) == 1;
  out.hasStaticScale = !q.at("staticScale").isNull();
  if (out.hasStaticScale) out.staticScaleBits = q.positiveF32("staticScale");
  const Value& divisor = q.at("divisor");
  if (divisor.isString()) {
    if (divisor.text != "format-max") invalid(q.pathOf("divisor"), "expected 'format-max' or a number, got " + shown(divisor));
    out.divisorBits = bitsFromF32(fp8Traits(out.format).maxFinite);
  } else {
    out.divisorBits = q.positiveF32("divisor");
  }
  out.hasAmaxFloor = !q.at("amaxFloor").isNull();
  if (out.hasAmaxFloor) out.amaxFloorBits = q.positiveF32("amaxFloor");
  out.scaleFloorStage = ScaleFloorStage::none;
  if (!q.at("scaleFloor").isNull()) {
    const ObjectReader floor(q.at("scaleFloor"), q.pathOf("scaleFloor"), {"value", "stage"});
    out.scaleFloorBits = floor.positiveF32("value");
    out.scaleFloorStage = floor.choice("stage", {"before-ue8m0", "after-ue8m0"}) == 0 ? ScaleFloorStage::beforeUe8m0 : ScaleFloorStage::afterUe8m0;
  }
  out.zeroAmaxScaleOne = q.boolean("zeroAmaxScaleOne");
  out.scaleReciprocal = q.choice("scale", {"divide", "reciprocal"}) == 1;
  const int ue8m0 = q.choice("ue8m0", {"none", "ceil", "floor", "rne"});
  out.ue8m0 = ue8m0 != 0;
  const E8m0Rounding e8m0Roundings[] = {E8m0Rounding::ceil, E8m0Rounding::ceil, E8m0Rounding::floor, E8m0Rounding::rne};
  out.ue8m0Rounding = e8m0Roundings[ue8m0];
  out.quantizeReciprocal = q.choice("quantize", {"divide", "reciprocal"}) == 1;
  const Value& clamp = q.at("clamp");
  if (clamp.isString()) {
    if (clamp.text != "none") invalid(q.pathOf("clamp"), "expected 'none' or a number, got " + shown(clamp));
  } else {
    out.clamp = true;
    out.clampBits = q.positiveF32("clamp");
  }
  out.saturation = q.choice("saturation", {"satfinite", "overflow"}) == 0 ? Fp8Saturation::satfinite : Fp8Saturation::overflow;

  const Value& layoutValue = q.at("scaleLayout");
  const std::string layoutPath = q.pathOf("scaleLayout");
  if (!layoutValue.isObject()) invalid(layoutPath, "expected an object, got " + shown(layoutValue));
  const Value* kindValue = layoutValue.find("kind");
  if (kindValue == nullptr) invalid(join(layoutPath, "kind"), "missing");
  const int layout = ObjectReader::choiceOf(*kindValue, join(layoutPath, "kind"), {"row-major", "column-major", "packed-ue8m0"});
  const ScaleLayout layouts[] = {ScaleLayout::rowMajor, ScaleLayout::columnMajor, ScaleLayout::packedUe8m0};
  out.scaleLayout = layouts[layout];
  out.scaleTokenAlign = 1;
  if (layout == 0) {
    const ObjectReader rowMajor(layoutValue, layoutPath, {"kind"});
  } else {
    const ObjectReader padded(layoutValue, layoutPath, {"kind", "tokenAlign"});
    out.scaleTokenAlign = padded.integer("tokenAlign", 1, ContractLimits::tokenAlign);
    if (layout == 2) refusals.refuse(padded.pathOf("kind"), "'packed-ue8m0'", "the kernels write f32 scales");
  }
  out.bf16SideOutput = q.boolean("bf16SideOutput");
}

/** The schema's superRefine rules of quant, with its paths (after the stages' rules, as zod). */
void checkQuantRules(const QuantContract& q) {
  if (!q.enabled) return;
  if (q.hasStaticScale && (q.hasAmaxFloor || q.scaleFloorStage != ScaleFloorStage::none || q.zeroAmaxScaleOne || q.ue8m0)) {
    invalid("quant.staticScale", "a static scale takes no amax floor, scale floor, zero-amax rule or UE8M0 rounding");
  }
  if (q.scaleLayout == ScaleLayout::packedUe8m0 && !q.ue8m0) invalid("quant.scaleLayout", "packed-ue8m0 scales need quant.ue8m0 'ceil', 'floor' or 'rne'");
  if (q.scaleFloorStage == ScaleFloorStage::afterUe8m0 && !q.ue8m0) {
    invalid("quant.scaleFloor.stage", "'after-ue8m0' needs quant.ue8m0; use 'before-ue8m0'");
  }
}

}  // namespace

Contract parseContract(const std::string& text, BuildTarget target) {
  Value root;
  try {
    root = json::parse(text);
  } catch (const json::JsonError& error) {
    throw ContractInvalid(std::string("contract is not valid JSON: ") + error.what());
  }
  const ObjectReader top(root, "", {"allReduce", "bf16Rounding", "f32Subnormals", "hardwareOps", "residual", "norm", "quant"});
  Contract c{};
  Refusals refusals;
  parseAllReduce(top, c.allReduce, refusals);
  const ObjectReader sites(top.at("bf16Rounding"), "bf16Rounding",
                           {"allReduceHop", "allReduceResult", "residualAdd", "residualOut", "normIntermediate", "normOut"});
  c.bf16Rounding = Bf16RoundingSites{bf16RoundingAt(sites, "allReduceHop"),     bf16RoundingAt(sites, "allReduceResult"),
                                     bf16RoundingAt(sites, "residualAdd"),      bf16RoundingAt(sites, "residualOut"),
                                     bf16RoundingAt(sites, "normIntermediate"), bf16RoundingAt(sites, "normOut")};
  c.flushSubnormals = top.choice("f32Subnormals", {"keep", "flush"}) == 1;
  parseHardwareOps(top, c.hardwareOps, target, refusals);
  const Value& residual = top.at("residual");
  c.norm.hasResidual = !residual.isNull();
  if (c.norm.hasResidual) {
    const ObjectReader add(residual, "residual", {"add"});
    c.norm.residualAddBf16 = add.choice("add", {"f32", "bf16"}) == 1;
  }
  parseNorm(top, c.norm, refusals);
  parseQuant(top, c.quant, refusals);

  // The schema's superRefine rules between the stages, with its paths.
  if (c.norm.hasResidual && c.norm.residualAddBf16 && !c.norm.inputBf16) {
    const char* const input = c.norm.inputF32SquaresBf16Normalize ? "'f32-squares-bf16-normalize'" : "'f32'";
    invalid("norm.input", std::string(input) + " reads the unrounded sum, but residual.add 'bf16' leaves none; use 'bf16'");
  }
  if (!c.norm.hasResidual && c.norm.inputF32SquaresBf16Normalize) {
    invalid("norm.input", "'f32-squares-bf16-normalize' re-reads the stored out.residual, which a contract without a residual does not write");
  }
  if (!c.norm.weightF32 && c.norm.weightCastToBf16) {
    invalid("norm.weight.castToBf16", "the weight is already bf16; the cast applies to dtype 'f32' only");
  }
  if (c.allReduce.bf16Accumulate && !c.allReduce.roundResult) {
    invalid("allReduce.roundResult", "bf16 accumulation already yields a bf16 sum; use 'bf16'");
  }
  checkQuantRules(c.quant);
  refusals.throwIfAny();
  return c;
}

}  // namespace ulpwise
