// ParseSudoers on any sudoers file, then ExpandUserAlias of every rule's
// principal with the file's User_Alias definitions: members and excluded
// lists are sorted, unique and disjoint, whatever nesting or loops the
// input defines.
#include <algorithm>
#include <string>
#include <vector>

#include "agent/linux/probes/local_accounts_probe.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

bool SortedUnique(const std::vector<std::string>& v) {
  return std::adjacent_find(v.begin(), v.end(),
                            [](const std::string& a, const std::string& b) {
                              return !(a < b);
                            }) == v.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  SudoersFile file = ParseSudoers(evidentia::fuzz::AsText(data, size));
  for (const evidentia::v1::SudoRule& rule : file.rules) {
    ExpandedPrincipal expanded =
        ExpandUserAlias(file.user_aliases, rule.principal());
    // The budget, overrun by at most one step per nesting level.
    evidentia::fuzz::Require(
        expanded.work <= kMaxUserAliasWork + 2 * kMaxUserAliasDepth + 2,
        "expansion work is bounded");
    evidentia::fuzz::Require(SortedUnique(expanded.members),
                             "members sorted and unique");
    evidentia::fuzz::Require(SortedUnique(expanded.excluded),
                             "excluded sorted and unique");
    for (const std::string& member : expanded.members) {
      evidentia::fuzz::Require(
          !std::binary_search(expanded.excluded.begin(),
                              expanded.excluded.end(), member),
          "no member is also excluded");
    }
  }
  return 0;
}
