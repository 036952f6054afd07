#include "safetensors.h"

#include "json.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace ulpwise::safetensors {

namespace {

// The rules of src/fixtures/safetensors.ts, constant for constant: the header cap is the
// reference crate's MAX_HEADER_SIZE (huggingface/safetensors@000a16f safetensors/src/tensor.rs:8);
// the other bounds are ours. fuzz/ runs both readers over the same files and compares verdicts.
constexpr uint64_t kMaxHeaderBytes = 100000000;
constexpr size_t kMaxTensors = 16384;
constexpr size_t kMaxMetadataEntries = 1024;
constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kMaxDimensions = 8;
constexpr int kMaxJsonDepth = 3;  // header -> entry -> shape
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;
constexpr uint64_t kMaxInputFileBytes = (uint64_t{1} << 31) - 1;
constexpr size_t kHeaderAlign = 8;
const char* const kMetadataKey = "__metadata__";

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw FormatError("safetensors " + source + ": " + problem);
}

[[noreturn]] void failTensor(const std::string& source, const std::string& name, const std::string& problem) {
  fail(source, "tensor " + json::quote(name.substr(0, 80)) + ": " + problem);
}

/** Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
bool validUtf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t length;
    uint8_t low = 0x80, high = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) length = 2;
    else if (c == 0xe0) length = 3, low = 0xa0;
    else if (c >= 0xe1 && c <= 0xec) length = 3;
    else if (c == 0xed) length = 3, high = 0x9f;
    else if (c >= 0xee && c <= 0xef) length = 3;
    else if (c == 0xf0) length = 4, low = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) length = 4;
    else if (c == 0xf4) length = 4, high = 0x8f;
    else return false;
    if (i + length > n || p[i + 1] < low || p[i + 1] > high) return false;
    for (size_t k = 2; k < length; k++) {
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return false;
    }
    i += length;
  }
  return true;
}

/** A JSON integer literal (no sign, fraction or exponent) no larger than 2^53 - 1. */
bool integerLiteral(const json::Value& value, uint64_t& out) {
  if (!value.isNumber() || value.text.empty() || value.text.size() > 16) return false;
  if (value.text.size() > 1 && value.text[0] == '0') return false;
  return value.asUint64(out) && out <= kMaxSafeInteger;
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
  if (dtype == "F32" || dtype == "I32") return 4;  // I32: packed UE8M0 scale words
  if (dtype == "F8_E4M3" || dtype == "F8_E4M3FNUZ" || dtype == "F8_E5M2" || dtype == "F8_E5M2FNUZ" || dtype == "F8_E8M0") return 1;
  throw FormatError("unknown dtype " + json::quote(dtype.substr(0, 40)) + " (supported: BF16, F32, I32, F8_E4M3, F8_E4M3FNUZ, F8_E5M2, F8_E5M2FNUZ, F8_E8M0)");
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
  if (!validUtf8(bytes.data() + 8, static_cast<size_t>(headerLength))) fail(source, "header is not valid UTF-8");
  const std::string headerText(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(headerLength));
  // The reference's InvalidHeaderStart: the first byte must be '{' (no byte-order mark, no space).
  if (headerText.empty() || headerText[0] != '{') fail(source, "header must start with '{'");
  json::Value header;
  try {
    header = json::parse(headerText, json::Bounds{kMaxJsonDepth, kMaxTensors + 1});
  } catch (const json::JsonError& error) {
    fail(source, std::string("header is not valid JSON within our bounds (") + error.what() + ")");
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
  const bool hasMetadata = header.find(kMetadataKey) != nullptr;
  const size_t tensorCount = header.members.size() - (hasMetadata ? 1 : 0);
  if (tensorCount > kMaxTensors) fail(source, "header lists " + std::to_string(tensorCount) + " tensors (at most 16384)");
  for (const auto& [name, entry] : header.members) {
    if (name == kMetadataKey) {
      if (entry.isNull()) continue;
      if (!entry.isObject()) fail(source, "__metadata__ must be an object of strings");
      if (entry.members.size() > kMaxMetadataEntries) fail(source, "__metadata__ has " + std::to_string(entry.members.size()) + " entries (at most 1024)");
      for (const auto& [key, value] : entry.members) {
        if (key.size() > kMaxNameBytes) fail(source, "__metadata__ key " + json::quote(key.substr(0, 80)) + " is longer than 1024 bytes");
        if (!value.isString()) fail(source, "__metadata__ " + json::quote(key.substr(0, 80)) + ": value must be a string");
        file.metadata.emplace_back(key, value.text);
      }
      continue;
    }
    if (name.size() > kMaxNameBytes) fail(source, "tensor name " + json::quote(name.substr(0, 80)) + " is longer than 1024 bytes");
    if (!entry.isObject()) failTensor(source, name, "entry must be an object");
    for (const auto& member : entry.members) {
      if (member.first != "dtype" && member.first != "shape" && member.first != "data_offsets") {
        failTensor(source, name, "unexpected key " + json::quote(member.first.substr(0, 80)) + " in entry");
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
    if (!shape->isArray() || shape->items.size() > kMaxDimensions) failTensor(source, name, "shape must be an array of at most 8 integer literals below 2^53");
    // Like the reference's checked try_fold (tensor.rs:702-707), the running product must stay
    // representable at every step: [2^40, 2^40, 0] is refused although its product is 0.
    uint64_t count = 1;
    for (const json::Value& d : shape->items) {
      uint64_t dim = 0;
      if (!integerLiteral(d, dim)) failTensor(source, name, "shape must be an array of at most 8 integer literals below 2^53");
      p.tensor.shape.push_back(dim);
      if (dim != 0 && count > kMaxSafeInteger / dim) failTensor(source, name, "shape has more than 2^53 - 1 elements");
      count *= dim;
    }
    if (!offsets->isArray() || offsets->items.size() != 2 || !integerLiteral(offsets->items[0], p.begin) ||
        !integerLiteral(offsets->items[1], p.end) || p.begin > p.end) {
      failTensor(source, name, "data_offsets must be [begin, end], integer literals with 0 <= begin <= end < 2^53");
    }
    if (count > kMaxSafeInteger / itemBytes) failTensor(source, name, "shape needs more than 2^53 - 1 bytes");
    if (p.end - p.begin != count * itemBytes) {
      failTensor(source, name, "data_offsets span " + std::to_string(p.end - p.begin) + " bytes but the shape needs " +
                                   std::to_string(count * itemBytes));
    }
    if (p.end > bufferBytes) failTensor(source, name, "data_offsets run past the end of the data buffer (file truncated?)");
    placed.push_back(std::move(p));
  }

  // The buffer must be tiled exactly. Sorted by (begin, end) as the reference sorts
  // (tensor.rs:597), so a zero-size tensor at an offset comes before the tensor starting there,
  // whatever the key order; each tensor must start where the last ended.
  std::stable_sort(placed.begin(), placed.end(),
                   [](const Placed& a, const Placed& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t covered = 0;
  for (Placed& p : placed) {
    if (p.begin < covered) failTensor(source, p.tensor.name, "data_offsets overlap the previous tensor");
    if (p.begin > covered) failTensor(source, p.tensor.name, "gap before data_offsets (data must be contiguous from 0)");
    covered = p.end;
  }
  if (covered != bufferBytes) {
    fail(source, "data buffer is " + std::to_string(bufferBytes) + " bytes but the tensors cover " + std::to_string(covered));
  }
  // Data is copied only once the whole header has passed.
  for (Placed& p : placed) {
    const auto from = bytes.begin() + static_cast<std::ptrdiff_t>(dataStart + p.begin);
    p.tensor.data.assign(from, from + static_cast<std::ptrdiff_t>(p.end - p.begin));
    file.tensors.push_back(std::move(p.tensor));
  }
  std::sort(file.metadata.begin(), file.metadata.end());
  return file;
}

std::vector<uint8_t> readRegularFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO that no one writes to must not wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw FormatError("cannot read " + json::quote(path) + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw FormatError("cannot read " + json::quote(path) + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw FormatError("cannot read " + json::quote(path) + ": it is a directory");
  if (!S_ISREG(st.st_mode)) throw FormatError("cannot read " + json::quote(path) + ": not a regular file (a device, FIFO or socket)");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxInputFileBytes) throw FormatError("cannot read " + json::quote(path) + ": " + std::to_string(size) + " bytes, over the 2 GiB limit");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw FormatError("cannot read " + json::quote(path) + ": file ended or failed at byte " + std::to_string(done));
    done += static_cast<size_t>(got);
  }
  return bytes;
}

File read(const std::string& path) { return decode(readRegularFile(path), path); }

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
