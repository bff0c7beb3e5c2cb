// evidentia: the operator CLI; all logic is behind RunOperatorCli.
#include <iostream>

#include "cli/operator_cli.h"

int main(int argc, char** argv) {
  return evidentia::collector::RunOperatorCli(argc, argv, std::cout, std::cerr);
}
