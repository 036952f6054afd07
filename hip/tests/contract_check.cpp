// The contract parser of hip/kernels on its own, no GPU (run by test/hip/contract.test.ts and
// built by .ci/hip-compile-check.sh): reads one contract JSON per line of FILE and prints one
// verdict per line, in order:
//
//   ok
//   invalid <message>        ContractInvalid: the schema does not allow it (the message names the path)
//   unsupported <message>    ContractUnsupported: "not implemented by the HIP kernels: <path> = <value> (why)"
#include "../kernels/contract.h"

#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: contract_check FILE (one contract JSON per line)\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "contract_check: cannot open " << argv[1] << "\n";
    return 2;
  }
  std::string line;
  while (std::getline(in, line)) {
    try {
      ulpwise::parseContract(line);
      std::cout << "ok\n";
    } catch (const ulpwise::ContractInvalid& e) {
      std::cout << "invalid " << e.what() << "\n";
    } catch (const ulpwise::ContractUnsupported& e) {
      std::cout << "unsupported " << e.what() << "\n";
    }
  }
  return 0;
}
