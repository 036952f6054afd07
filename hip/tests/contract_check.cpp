// The contract parser of hip/kernels on its own, no GPU (run by test/hip/contract.test.ts and
// built by .ci/hip-compile-check.sh): reads one contract JSON per line of FILE and prints one
// verdict per line, in order:
//
//   ok
//   invalid <message>        ContractInvalid: the schema does not allow it (the message names the path)
//   unsupported <message>    ContractUnsupported: "not implemented by the HIP kernels: <path> = <value> (why)"
//
// --target nvidia|amd|host gives the verdict of that build (the hardware-op slots differ);
// without it, this build's own (host). --pins HIDDEN prints, for a contract it accepts,
// `pin <name>` instead of `ok`: the 1-stage kernel's pinned instance that runs it at that hidden
// size (kernels/contract_pin.h), or `pin none`.
#include "../kernels/contract.h"
#include "../kernels/contract_pin.h"

#include <cstdlib>

#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  const std::string usage = "usage: contract_check [--target nvidia|amd|host] [--pins HIDDEN] FILE (one contract JSON per line)\n";
  ulpwise::BuildTarget target = ulpwise::kBuildTarget;
  int pinsHidden = 0;
  int file = 1;
  while (file + 2 < argc) {
    const std::string option = argv[file];
    const std::string value = argv[file + 1];
    if (option == "--target") {
      if (value == "nvidia") target = ulpwise::BuildTarget::nvidia;
      else if (value == "amd") target = ulpwise::BuildTarget::amd;
      else if (value == "host") target = ulpwise::BuildTarget::host;
      else {
        std::cerr << "contract_check: --target: unknown target '" << value << "'\n" << usage;
        return 2;
      }
    } else if (option == "--pins") {
      pinsHidden = std::atoi(value.c_str());
      if (pinsHidden < 1) {
        std::cerr << "contract_check: --pins: expected a positive hidden size, got '" << value << "'\n" << usage;
        return 2;
      }
    } else {
      break;
    }
    file += 2;
  }
  if (file != argc - 1) {
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
      const ulpwise::Contract contract = ulpwise::parseContract(line, target);
      if (pinsHidden > 0) std::cout << "pin " << ulpwise::contractPinName(ulpwise::contractPinFor(contract, pinsHidden)) << "\n";
      else std::cout << "ok\n";
    } catch (const ulpwise::ContractInvalid& e) {
      std::cout << "invalid " << e.what() << "\n";
    } catch (const ulpwise::ContractUnsupported& e) {
      std::cout << "unsupported " << e.what() << "\n";
    }
  }
  return 0;
}
