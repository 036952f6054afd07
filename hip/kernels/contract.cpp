// Canonical contract JSON -> Contract. Reads every field the schema has (defaults are already
// applied in canonical JSON, so a missing field is an error), so a contract that grows a field
// these kernels do not know fails here instead of being computed wrongly.
#include "contract.h"

#include "../harness/json.h"

#include <cstring>

namespace ulpwise {

namespace {

using json::Value;

[[noreturn]] void unsupported(const std::string& path, const std::string& problem) {
  throw ContractUnsupported("contract " + path + ": " + problem);
}

/** The member `key` of an object (a pointer: GCC 13 warns of a dangling reference when a
 *  function with temporary arguments returns one). */
const Value* member(const Value& object, const std::string& path, const std::string& key) {
  if (!object.isObject()) unsupported(path, "expected an object");
  const Value* value = object.find(key);
  if (value == nullptr) unsupported(path + "." + key, "missing");
  return value;
}

std::string stringAt(const Value& object, const std::string& path, const std::string& key) {
  const Value& value = *member(object, path, key);
  if (!value.isString()) unsupported(path + "." + key, "expected a string");
  return value.text;
}

bool boolAt(const Value& object, const std::string& path, const std::string& key) {
  const Value& value = *member(object, path, key);
  if (value.kind != Value::Kind::boolean) unsupported(path + "." + key, "expected true or false");
  return value.boolean;
}

/** fround(value): the double nearest the literal, then the float nearest that, as JS does. */
uint32_t f32BitsAt(const Value& value, const std::string& path) {
  if (!value.isNumber()) unsupported(path, "expected a number");
  return bitsFromF32(static_cast<float>(value.asDouble()));
}

int32_t intAt(const Value& object, const std::string& path, const std::string& key) {
  uint64_t n = 0;
  if (!member(object, path, key)->asUint64(n) || n > 0x7fffffffu) unsupported(path + "." + key, "expected a non-negative integer");
  return static_cast<int32_t>(n);
}

template <typename Enum, size_t N>
Enum choice(const std::string& text, const std::string& path, const char* const (&names)[N], const Enum (&values)[N]) {
  for (size_t i = 0; i < N; i++) {
    if (text == names[i]) return values[i];
  }
  unsupported(path, "unknown value '" + text + "'");
}

void parseAllReduce(const Value& v, AllReduceContract& out) {
  const std::string path = "allReduce";
  const Value& order = *member(v, path, "order");
  const std::string kind = stringAt(order, path + ".order", "kind");
  out = AllReduceContract{};
  for (int r = 0; r < kMaxRanks; r++) out.ringOrder[r] = static_cast<int8_t>(r);
  if (kind == "ring") {
    out.ring = true;
    out.ringChunkAlign = intAt(order, path + ".order", "chunkAlignElems");
    if (out.ringChunkAlign == 0) unsupported(path + ".order.chunkAlignElems", "must be positive");
    if (const Value* ring = order.find("ring")) {
      if (!ring->isArray() || ring->items.size() > static_cast<size_t>(kMaxRanks)) {
        unsupported(path + ".order.ring", "expected an array of at most " + std::to_string(kMaxRanks) + " ranks");
      }
      for (size_t i = 0; i < ring->items.size(); i++) {
        uint64_t r = 0;
        if (!ring->items[i].asUint64(r) || r >= static_cast<uint64_t>(kMaxRanks)) unsupported(path + ".order.ring", "bad rank");
        out.ringOrder[i] = static_cast<int8_t>(r);
      }
    }
  } else if (kind != "natural") {
    unsupported(path + ".order.kind", "'" + kind + "' is not computed by these kernels (natural and ring are)");
  }
  out.bf16Accumulate = choice(stringAt(v, path, "accumulate"), path + ".accumulate", {"f32", "bf16"}, {false, true});
  out.roundResult = choice(stringAt(v, path, "roundResult"), path + ".roundResult", {"none", "bf16"}, {false, true});
}

void parseNorm(const Value& v, NormContract& out) {
  const std::string path = "norm";
  out.inputBf16 = choice(stringAt(v, path, "input"), path + ".input", {"f32", "bf16"}, {false, true});
  const Value& sumOfSquares = *member(v, path, "sumOfSquares");
  out.fma = boolAt(sumOfSquares, path + ".sumOfSquares", "fma");
  const Value& tree = *member(sumOfSquares, path + ".sumOfSquares", "tree");
  const std::string treePath = path + ".sumOfSquares.tree";
  const std::string kind = stringAt(tree, treePath, "kind");
  out.cubBlock = 0;
  if (kind == "sequential") {
    out.tree = SumTree::sequential;
  } else if (kind == "butterfly") {
    out.tree = SumTree::butterfly;
    if (intAt(tree, treePath, "perThread") != 8) unsupported(treePath + ".perThread", "only 8 (one 16-byte load per thread) is implemented");
    if (intAt(tree, treePath, "warpSize") != 32) unsupported(treePath + ".warpSize", "only 32-lane logical warps are implemented");
  } else if (kind == "cub") {
    out.tree = SumTree::cub;
    const Value& block = *member(tree, treePath, "blockSize");
    if (block.isString() && block.text == "vllm") {
      out.cubBlock = 0;
    } else {
      uint64_t n = 0;
      if (!block.asUint64(n) || n == 0 || n > 1024) unsupported(treePath + ".blockSize", "expected 'vllm' or 1..1024 threads");
      out.cubBlock = static_cast<int32_t>(n);
    }
    if (intAt(tree, treePath, "warpSize") != 32) unsupported(treePath + ".warpSize", "only 32-lane logical warps are implemented");
  } else {
    unsupported(treePath + ".kind", "unknown tree '" + kind + "'");
  }
  out.epsBits = f32BitsAt(*member(v, path, "eps"), path + ".eps");
  // kernelRstd names what the modelled kernel does; ours computes the reproducible rstd unless
  // built with ULPWISE_HW_RSQRT, whatever the field says.
  choice(stringAt(v, path, "kernelRstd"), path + ".kernelRstd", {"correctly-rounded", "hardware-rsqrt"}, {0, 1});
  const Value& weight = *member(v, path, "weight");
  out.weightF32 = choice(stringAt(weight, path + ".weight", "dtype"), path + ".weight.dtype", {"bf16", "f32"}, {false, true});
  out.weightCastToBf16 = boolAt(weight, path + ".weight", "castToBf16");
  out.multiplyXWRstd = choice(stringAt(v, path, "multiplyOrder"), path + ".multiplyOrder", {"x-rstd-w", "x-w-rstd"}, {false, true});
  out.roundIntermediate = boolAt(v, path, "roundIntermediate");
}

void parseQuant(const Value& v, QuantContract& out) {
  const std::string path = "quant";
  out = QuantContract{};
  if (v.isNull()) return;
  out.enabled = true;
  out.groupSize = intAt(v, path, "groupSize");
  if (out.groupSize == 0) unsupported(path + ".groupSize", "must be positive");
  out.format = choice(stringAt(v, path, "format"), path + ".format", {"e4m3fn", "e4m3fnuz", "e5m2", "e5m2fnuz"},
                      {Fp8Format::e4m3fn, Fp8Format::e4m3fnuz, Fp8Format::e5m2, Fp8Format::e5m2fnuz});
  out.inputBf16 = choice(stringAt(v, path, "input"), path + ".input", {"f32", "bf16"}, {false, true});
  const Value& floor = *member(v, path, "amaxFloor");
  out.floorOn = choice(stringAt(floor, path + ".amaxFloor", "on"), path + ".amaxFloor.on", {"none", "amax", "scale"},
                       {AmaxFloorOn::none, AmaxFloorOn::amax, AmaxFloorOn::scale});
  if (out.floorOn != AmaxFloorOn::none) out.floorBits = f32BitsAt(*member(floor, path + ".amaxFloor", "value"), path + ".amaxFloor.value");
  out.zeroAmaxScaleOne = boolAt(v, path, "zeroAmaxScaleOne");
  out.scaleReciprocal = choice(stringAt(v, path, "scale"), path + ".scale", {"divide", "reciprocal"}, {false, true});
  const std::string ue8m0 = stringAt(v, path, "ue8m0");
  out.ue8m0 = ue8m0 != "none";
  if (out.ue8m0) {
    out.ue8m0Rounding = choice(ue8m0, path + ".ue8m0", {"ceil", "floor", "rne"}, {E8m0Rounding::ceil, E8m0Rounding::floor, E8m0Rounding::rne});
  }
  out.quantizeReciprocal = choice(stringAt(v, path, "quantize"), path + ".quantize", {"divide", "reciprocal"}, {false, true});
  const Value& clamp = *member(v, path, "clamp");
  if (clamp.isString()) {
    if (clamp.text != "none") unsupported(path + ".clamp", "expected 'none' or a number");
  } else {
    out.clamp = true;
    out.clampBits = f32BitsAt(clamp, path + ".clamp");
  }
  out.saturation = choice(stringAt(v, path, "saturation"), path + ".saturation", {"satfinite", "overflow"},
                          {Fp8Saturation::satfinite, Fp8Saturation::overflow});
  out.columnMajorScales = choice(stringAt(v, path, "scaleLayout"), path + ".scaleLayout", {"row-major", "column-major"}, {false, true});
  out.bf16SideOutput = boolAt(v, path, "bf16SideOutput");
}

}  // namespace

Contract parseContract(const std::string& text) {
  Value root;
  try {
    root = json::parse(text);
  } catch (const json::JsonError& error) {
    throw ContractUnsupported(std::string("contract is not valid JSON: ") + error.what());
  }
  if (!root.isObject()) unsupported("(root)", "expected an object");
  Contract c{};
  parseAllReduce(*member(root, "(root)", "allReduce"), c.allReduce);
  c.bf16Rounding = choice(stringAt(root, "(root)", "bf16Rounding"), "bf16Rounding", {"rne", "truncate"},
                          {Bf16Rounding::rne, Bf16Rounding::truncate});
  const Value& residual = *member(root, "(root)", "residual");
  c.norm.hasResidual = !residual.isNull();
  if (c.norm.hasResidual) {
    c.norm.residualAddBf16 = choice(stringAt(residual, "residual", "add"), "residual.add", {"f32", "bf16"}, {false, true});
  }
  parseNorm(*member(root, "(root)", "norm"), c.norm);
  parseQuant(*member(root, "(root)", "quant"), c.quant);
  return c;
}

}  // namespace ulpwise
