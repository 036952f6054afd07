// The harness's safetensors reader as a batch checker, so that a fuzz run of 100k files costs one
// process, not 100k (fuzz/run.ts drives it; fuzz/corpus.ts lists the expected verdicts):
//
//   safetensors_check --paths    stdin: one path per line; stdout: one verdict line per path
//   safetensors_check --stream   stdin: records of a u32 little-endian length and that many
//                                bytes; stdout: one verdict line per record
//
// A verdict line is "ok" or "reject <message>" (messages are one line: names are escaped). Any
// exception other than the reader's FormatError is a bug in the reader: exit 70. On stderr, the
// process's peak resident memory ("maxrss_kib N").
#include "safetensors.h"

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sys/resource.h>
#include <string>
#include <vector>

namespace {

using ulpwise::safetensors::FormatError;

void verdict(const std::vector<uint8_t>* bytes, const std::string& source) {
  try {
    if (bytes != nullptr) ulpwise::safetensors::decode(*bytes, source);
    else ulpwise::safetensors::read(source);
    std::fputs("ok\n", stdout);
  } catch (const FormatError& e) {
    std::string line = e.what();
    for (char& c : line) if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stdout, "reject %s\n", line.c_str());
  }
}

bool readRecord(std::vector<uint8_t>& bytes) {
  uint8_t prefix[4];
  if (std::fread(prefix, 1, 4, stdin) != 4) return false;
  const uint32_t length = uint32_t{prefix[0]} | uint32_t{prefix[1]} << 8 | uint32_t{prefix[2]} << 16 | uint32_t{prefix[3]} << 24;
  bytes.resize(length);
  if (length > 0 && std::fread(bytes.data(), 1, length, stdin) != length) throw std::runtime_error("record truncated");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 2 ? argv[1] : "";
  try {
    if (mode == "--paths") {
      std::string path;
      while (std::getline(std::cin, path)) verdict(nullptr, path);
    } else if (mode == "--stream") {
      std::vector<uint8_t> bytes;
      for (uint64_t n = 0; readRecord(bytes); n++) verdict(&bytes, "#" + std::to_string(n));
    } else {
      std::fputs("usage: safetensors_check --paths | --stream\n", stderr);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "safetensors_check: internal error: %s\n", e.what());
    return 70;
  }
  std::fflush(stdout);
  // Peak memory of the whole batch, which bounds the memory any one file took (fuzz/run.ts).
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) == 0) std::fprintf(stderr, "maxrss_kib %ld\n", usage.ru_maxrss);
  return 0;
}
