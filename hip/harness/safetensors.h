// safetensors reading and writing for the harness (the format of src/fixtures/safetensors.ts):
// u64 little-endian header length, a JSON header padded with spaces, one data buffer. The
// reader trusts nothing and holds a file to the same rules as src/fixtures/safetensors.ts: a
// UTF-8 header starting with '{', strict bounded JSON without duplicate keys, integer literals
// below 2^53, known dtypes, shapes that match their byte spans, offsets that tile the buffer
// exactly; metadata is string -> string. Names in messages are escaped, never printed raw.
#ifndef ULPWISE_HARNESS_SAFETENSORS_H
#define ULPWISE_HARNESS_SAFETENSORS_H

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ulpwise::safetensors {

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Tensor {
  std::string name;
  /** safetensors dtype: BF16, F32, I32 (packed UE8M0 scale words), F8_E4M3, F8_E4M3FNUZ, F8_E5M2, F8_E5M2FNUZ, F8_E8M0. */
  std::string dtype;
  std::vector<uint64_t> shape;
  /** Little-endian element bytes. */
  std::vector<uint8_t> data;

  uint64_t elements() const;
};

struct File {
  /** In data-buffer order. */
  std::vector<Tensor> tensors;
  /** Sorted by key (as written). */
  std::vector<std::pair<std::string, std::string>> metadata;

  const Tensor* find(const std::string& name) const;
  const std::string* metadataValue(const std::string& key) const;
};

/** Bytes per element of a dtype; throws FormatError for an unknown one. */
size_t dtypeBytes(const std::string& dtype);

/** Parses a whole file's bytes; `source` names it in errors. */
File decode(const std::vector<uint8_t>& bytes, const std::string& source);
/** A regular file's bytes (not a directory, device or FIFO), refused above 2 GiB before allocating. */
std::vector<uint8_t> readRegularFile(const std::string& path);
File read(const std::string& path);

std::vector<uint8_t> encode(const File& file);
/** Writes atomically: a temporary file beside `path`, then rename. */
void write(const std::string& path, const File& file);

}  // namespace ulpwise::safetensors

#endif  // ULPWISE_HARNESS_SAFETENSORS_H
