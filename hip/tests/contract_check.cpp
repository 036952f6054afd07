// The contract parser of hip/kernels on its own, no GPU (run by test/hip/contract.test.ts and
// built by .ci/hip-compile-check.sh): reads one contract JSON per line of FILE and prints one
// verdict per line, in order:
//
//   ok
//   invalid <message>        ContractInvalid: the schema does not allow it (the message names the path)
//   unsupported <message>    ContractUnsupported: "not implemented by the HIP kernels: <path> = <value> (why)"
//
// --target nvidia|amd|host gives the verdict of that build (the hardware-op slots differ);
// without it, this build's own (host).
#include "../kernels/contract.h"

#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  const std::string usage = "usage: contract_check [--target nvidia|amd|host] FILE (one contract JSON per line)\n";
  ulpwise::BuildTarget target = ulpwise::kBuildTarget;
  int file = 1;
  if (argc == 4 && std::string(argv[1]) == "--target") {
    const std::string name = argv[2];
    if (name == "nvidia") target = ulpwise::BuildTarget::nvidia;
    else if (name == "amd") target = ulpwise::BuildTarget::amd;
    else if (name == "host") target = ulpwise::BuildTarget::host;
    else {
      std::cerr << "contract_check: --target: unknown target '" << name << "'\n" << usage;
      return 2;
    }
    file = 3;
  } else if (argc != 2) {
    std::cerr << usage;
    return 2;
  }
  std::ifstream in(argv[file]);
  if (!in) {
    std::cerr << "contract_check: cannot open " << argv[file] << "\n";
    return 2;
  }
  std::string line;
  while (std::getline(in, line)) {
    try {
      ulpwise::parseContract(line, target);
      std::cout << "ok\n";
    } catch (const ulpwise::ContractInvalid& e) {
      std::cout << "invalid " << e.what() << "\n";
    } catch (const ulpwise::ContractUnsupported& e) {
      std::cout << "unsupported " << e.what() << "\n";
    }
  }
  return 0;
}
