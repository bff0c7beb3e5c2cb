// Test support: the rows of a store table, for assertions.
#ifndef EVIDENTIA_TESTS_SUPPORT_STORE_ROWS_H_
#define EVIDENTIA_TESTS_SUPPORT_STORE_ROWS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "collector/store/store.h"
#include "gtest/gtest.h"

namespace evidentia::testing {

// Every (key, value) of `table` under `prefix`, in scan order.
inline std::vector<std::pair<std::string, std::string>> ScanAll(
    const collector::Store& store, collector::Table table,
    absl::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status status =
      store.Scan(table, prefix, [&](absl::string_view k, absl::string_view v) {
        out.emplace_back(std::string(k), std::string(v));
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_STORE_ROWS_H_
