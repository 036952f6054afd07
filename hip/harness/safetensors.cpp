#include "safetensors.h"

#include "json.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace ulpwise::safetensors {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100000000;  // the reference implementation's bound
constexpr size_t kHeaderAlign = 8;
const char* const kMetadataKey = "__metadata__";

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw FormatError("safetensors " + source + ": " + problem);
}

[[noreturn]] void failTensor(const std::string& source, const std::string& name, const std::string& problem) {
  fail(source, "tensor \"" + name + "\": " + problem);
}

}  // namespace

uint64_t Tensor::elements() const {
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  return count;
}

const Tensor* File::find(const std::string& name) const {
  for (const Tensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const std::string* File::metadataValue(const std::string& key) const {
  for (const auto& entry : metadata) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

size_t dtypeBytes(const std::string& dtype) {
  if (dtype == "BF16") return 2;
  if (dtype == "F32") return 4;
  if (dtype == "F8_E4M3" || dtype == "F8_E4M3FNUZ" || dtype == "F8_E5M2" || dtype == "F8_E5M2FNUZ" || dtype == "F8_E8M0") return 1;
  throw FormatError("unknown dtype '" + dtype + "' (supported: BF16, F32, F8_E4M3, F8_E4M3FNUZ, F8_E5M2, F8_E5M2FNUZ, F8_E8M0)");
}

File decode(const std::vector<uint8_t>& bytes, const std::string& source) {
  if (bytes.size() < 8) fail(source, "file is " + std::to_string(bytes.size()) + " bytes, too short for the 8-byte header length");
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; i--) headerLength = (headerLength << 8) | bytes[static_cast<size_t>(i)];
  if (headerLength > kMaxHeaderBytes) fail(source, "header length " + std::to_string(headerLength) + " exceeds the 100000000-byte limit");
  if (8 + headerLength > bytes.size()) {
    fail(source, "header length " + std::to_string(headerLength) + " runs past the end of the file (" + std::to_string(bytes.size()) +
                     " bytes; file truncated?)");
  }
  const std::string headerText(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(headerLength));
  json::Value header;
  try {
    header = json::parse(headerText);
  } catch (const json::JsonError& error) {
    fail(source, std::string("header is not valid JSON (") + error.what() + ")");
  }
  if (!header.isObject()) fail(source, "header must be a JSON object");

  const size_t dataStart = 8 + static_cast<size_t>(headerLength);
  const uint64_t bufferBytes = bytes.size() - dataStart;
  File file;
  struct Placed {
    Tensor tensor;
    uint64_t begin, end;
  };
  std::vector<Placed> placed;
  for (const auto& [name, entry] : header.members) {
    if (name == kMetadataKey) {
      if (entry.isNull()) continue;
      if (!entry.isObject()) fail(source, "__metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.members) {
        if (!value.isString()) fail(source, "__metadata__ \"" + key + "\": value must be a string");
        file.metadata.emplace_back(key, value.text);
      }
      continue;
    }
    if (!entry.isObject()) failTensor(source, name, "entry must be an object");
    for (const auto& member : entry.members) {
      if (member.first != "dtype" && member.first != "shape" && member.first != "data_offsets") {
        failTensor(source, name, "unexpected key \"" + member.first + "\" in entry");
      }
    }
    const json::Value* dtype = entry.find("dtype");
    const json::Value* shape = entry.find("shape");
    const json::Value* offsets = entry.find("data_offsets");
    if (dtype == nullptr || shape == nullptr || offsets == nullptr) failTensor(source, name, "entry needs dtype, shape and data_offsets");
    if (!dtype->isString()) failTensor(source, name, "dtype must be a string");
    Placed p;
    p.tensor.name = name;
    p.tensor.dtype = dtype->text;
    size_t itemBytes;
    try {
      itemBytes = dtypeBytes(dtype->text);
    } catch (const FormatError& error) {
      failTensor(source, name, error.what());
    }
    if (!shape->isArray()) failTensor(source, name, "shape must be an array of non-negative integers");
    uint64_t count = 1;
    for (const json::Value& d : shape->items) {
      uint64_t dim = 0;
      if (!d.asUint64(dim) || dim > (uint64_t{1} << 53)) failTensor(source, name, "shape must be an array of non-negative integers");
      p.tensor.shape.push_back(dim);
      if (dim != 0 && count > (uint64_t{1} << 53) / dim) failTensor(source, name, "shape has more than 2^53 elements");
      count *= dim;
    }
    if (!offsets->isArray() || offsets->items.size() != 2 || !offsets->items[0].asUint64(p.begin) ||
        !offsets->items[1].asUint64(p.end) || p.begin > p.end) {
      failTensor(source, name, "data_offsets must be [begin, end] with integers 0 <= begin <= end");
    }
    if (p.end - p.begin != count * itemBytes) {
      failTensor(source, name, "data_offsets span " + std::to_string(p.end - p.begin) + " bytes but the shape needs " +
                                   std::to_string(count * itemBytes));
    }
    if (p.end > bufferBytes) failTensor(source, name, "data_offsets run past the end of the data buffer (file truncated?)");
    placed.push_back(std::move(p));
  }

  // The buffer must be tiled exactly: sorted by begin, each tensor starts where the last ended.
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.begin < b.begin; });
  uint64_t covered = 0;
  for (Placed& p : placed) {
    if (p.begin < covered) failTensor(source, p.tensor.name, "data_offsets overlap the previous tensor");
    if (p.begin > covered) failTensor(source, p.tensor.name, "gap before data_offsets (data must be contiguous from 0)");
    covered = p.end;
    const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(dataStart + p.begin);
    p.tensor.data.assign(from, from + static_cast<std::ptrdiff_t>(p.end - p.begin));
    file.tensors.push_back(std::move(p.tensor));
  }
  if (covered != bufferBytes) {
    fail(source, "data buffer is " + std::to_string(bufferBytes) + " bytes but the tensors cover " + std::to_string(covered));
  }
  std::sort(file.metadata.begin(), file.metadata.end());
  return file;
}

File read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError("safetensors " + path + ": cannot open the file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw FormatError("safetensors " + path + ": read failed");
  return decode(bytes, path);
}

std::vector<uint8_t> encode(const File& file) {
  std::string header = "{";
  bool first = true;
  if (!file.metadata.empty()) {
    std::vector<std::pair<std::string, std::string>> sorted = file.metadata;
    std::sort(sorted.begin(), sorted.end());
    header += json::quote(kMetadataKey) + ":{";
    for (size_t i = 0; i < sorted.size(); i++) {
      if (i > 0) header += ",";
      header += json::quote(sorted[i].first) + ":" + json::quote(sorted[i].second);
    }
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const Tensor& t : file.tensors) {
    if (t.name == kMetadataKey) throw FormatError("tensor name __metadata__ is reserved");
    const uint64_t bytes = t.elements() * dtypeBytes(t.dtype);
    if (bytes != t.data.size()) {
      throw FormatError("tensor \"" + t.name + "\": " + std::to_string(t.data.size()) + " data bytes but its shape needs " + std::to_string(bytes));
    }
    if (!first) header += ",";
    first = false;
    header += json::quote(t.name) + ":{\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) +
              "],\"dtype\":" + json::quote(t.dtype) + ",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); d++) header += (d > 0 ? "," : "") + std::to_string(t.shape[d]);
    header += "]}";
    offset += bytes;
  }
  header += "}";
  header.resize((header.size() + kHeaderAlign - 1) / kHeaderAlign * kHeaderAlign, ' ');
  const uint64_t length = header.size();
  std::vector<uint8_t> out(8 + length + offset);
  for (int i = 0; i < 8; i++) out[static_cast<size_t>(i)] = static_cast<uint8_t>(length >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), length);
  size_t at = 8 + length;
  for (const Tensor& t : file.tensors) {
    if (!t.data.empty()) std::memcpy(out.data() + at, t.data.data(), t.data.size());
    at += t.data.size();
  }
  return out;
}

void write(const std::string& path, const File& file) {
  const std::vector<uint8_t> bytes = encode(file);
  const std::string temporary = path + ".tmp" + std::to_string(static_cast<long>(getpid()));
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw FormatError("cannot create " + temporary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      throw FormatError("cannot write " + temporary);
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw FormatError("cannot rename " + temporary + " to " + path);
  }
}

}  // namespace ulpwise::safetensors
