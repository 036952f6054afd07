// The harness's subcommands and their shared option parsing.
#ifndef ULPWISE_HARNESS_COMMANDS_H
#define ULPWISE_HARNESS_COMMANDS_H

#include "session.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ulpwise::harness {

/** --name value options; every option takes a value. */
class Options {
 public:
  Options(const std::vector<std::string>& args, const std::set<std::string>& known);
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string text(const std::string& name, const std::string& fallback) const;
  std::string required(const std::string& name) const;
  int integer(const std::string& name, int fallback) const;
  /** A comma-separated list of positive integers. */
  std::vector<int> integers(const std::string& name, const std::vector<int>& fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

/** --lib, else libulpwise_kernels.so beside the harness binary. */
std::string libraryPath(const Options& options);
/** --mode emulated|peer (default emulated). */
uint32_t rankMode(const Options& options);

int benchBandwidth(const std::vector<std::string>& args);
int benchLatency(const std::vector<std::string>& args);

}  // namespace ulpwise::harness

#endif  // ULPWISE_HARNESS_COMMANDS_H
