// evidentia: the operator CLI. All logic is in collector/operator_cli.cc.
#include <iostream>

#include "collector/operator_cli.h"

int main(int argc, char** argv) {
  return evidentia::collector::RunOperatorCli(argc, argv, std::cout, std::cerr);
}
