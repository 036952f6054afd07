// libFuzzer target for the C++ safetensors reader (hip/harness/safetensors.cpp), built by
// fuzz/run.sh with clang's -fsanitize=fuzzer,address,undefined where clang has libFuzzer (Debian's
// clang-15, which .ci/hip-compile-check.sh installs with hipcc). A file is either read or refused
// with the reader's FormatError; anything else escaping (another exception, a sanitizer report, a
// hang, more memory than -rss_limit_mb) is a finding. A file the reader accepts must survive
// being written back and read again.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../hip/harness/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  ulpwise::safetensors::File file;
  try {
    file = ulpwise::safetensors::decode(bytes, "fuzz input");
  } catch (const ulpwise::safetensors::FormatError&) {
    return 0;
  }
  ulpwise::safetensors::decode(ulpwise::safetensors::encode(file), "re-encoded fuzz input");
  return 0;
}
