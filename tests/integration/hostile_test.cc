// Hostile clients against the real collector process: what a peer without
// a client certificate can make the collector hold is bounded, and an
// enrolled agent keeps delivering meanwhile. The attacker is
// tests/hostile/half_sent_enroll.py (HTTP/2 by Debian's python3-h2), not
// our own gRPC client, so it can do what a gRPC client never would.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/identity/data_dir.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace evidentia {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::Child;
using ::evidentia::testing::CollectorProcess;
using ::evidentia::testing::RunProcess;
using ::evidentia::testing::ScopedTempDir;

constexpr char kRoot[] =
    EVIDENTIA_SOURCE_DIR "/tests/fixtures/host_facts/debian12";
constexpr char kAttacker[] =
    EVIDENTIA_SOURCE_DIR "/tests/hostile/half_sent_enroll.py";

// VmRSS of `pid` in KiB; 0 if it cannot be read.
int64_t RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<std::string> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (words.size() >= 2 && absl::SimpleAtoi(words[1], &kib)) return kib;
  }
  return 0;
}

TEST(HostileClientTest, HalfSentEnrollStreamsPinNoMemory) {
  ScopedTempDir tmp;
  const fs::path data_dir = tmp.path() / "collector";
  // ASan keeps freed memory in a quarantine (256 MiB by default) that
  // would read as growth here; a small one keeps the figure about what the
  // collector holds (measured under ASan: 38-39 MiB, against 51 with an
  // 8 MiB quarantine). Without ASan the variable is ignored.
  const char* asan = std::getenv("ASAN_OPTIONS");
  ::setenv(
      "ASAN_OPTIONS",
      absl::StrCat(asan == nullptr ? "" : asan, asan == nullptr ? "" : ":",
                   "quarantine_size_mb=1:thread_local_quarantine_size_kb=64")
          .c_str(),
      1);
  CollectorProcess collector = testing::StartCollectorProcess(
      EVIDENTIA_COLLECTOR_BIN, data_dir, "127.0.0.1:0", {},
      tmp.path() / "collector.log");
  ASSERT_NE(collector.child, nullptr) << collector.address;
  const std::string ca = collector::DataDirPaths(data_dir).ca_cert().string();

  auto [token_code, token] = RunProcess(
      {EVIDENTIA_CLI_BIN, "token", "create", "--data-dir", data_dir.string()},
      tmp.path() / "cli.out");
  ASSERT_EQ(token_code, 0) << token;
  token = token.substr(0, token.find('\n'));
  const fs::path state = tmp.path() / "agent";
  auto [enrolled, enrol_output] = RunProcess(
      {EVIDENTIA_AGENT_BIN, "enroll", "--collector", collector.address, "--ca",
       ca, "--token", token, "--state-dir", state.string(), "--root", kRoot},
      tmp.path() / "enroll.out");
  ASSERT_EQ(enrolled, 0) << enrol_output;
  const std::vector<std::string> cycle = {
      EVIDENTIA_AGENT_BIN, "run",    "--once", "--state-dir",
      state.string(),      "--root", kRoot};
  // Warm up: the first deliveries size the collector's caches.
  for (int i = 0; i < 3; ++i) {
    auto [code, output] = RunProcess(cycle, tmp.path() / "warm.out");
    ASSERT_EQ(code, 0) << output;
  }
  const int64_t before_kib = RssKib(collector.child->pid());
  ASSERT_GT(before_kib, 0);

  // 13 connections x 16 streams: 208 Enroll calls, each announcing 8 MiB
  // and sending up to 7 MiB, held for 18 s.
  Child attacker(
      {"/usr/bin/python3", kAttacker, "--address", collector.address, "--ca",
       ca, "--connections", "13", "--streams", "16", "--hold", "18"},
      tmp.path() / "attacker.out");
  ASSERT_GT(attacker.pid(), 0);
  int64_t peak_kib = before_kib;
  int delivered = 0, cycles = 0;
  while (attacker.Running()) {
    auto [code, output] = RunProcess(cycle, tmp.path() / "cycle.out");
    ++cycles;
    EXPECT_EQ(code, 0) << output;
    delivered += code == 0;
    peak_kib = std::max(peak_kib, RssKib(collector.child->pid()));
    absl::SleepFor(absl::Milliseconds(200));
  }
  const std::string report_text =
      ReadFile(tmp.path() / "attacker.out").value_or("");
  const nlohmann::json report =
      nlohmann::json::parse(report_text, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << report_text;

  const int64_t growth_mib = (peak_kib - before_kib) / 1024;
  std::printf(
      "half-sent Enroll: %s\n  collector RSS %lld MiB before, peak %lld MiB "
      "(growth %lld MiB); agent delivered %d of %d cycles during the "
      "attack\n",
      report.dump().c_str(), static_cast<long long>(before_kib / 1024),
      static_cast<long long>(peak_kib / 1024),
      static_cast<long long>(growth_mib), delivered, cycles);
  EXPECT_GE(report.value("calls", 0), 200);  // the attack was made
  EXPECT_LE(growth_mib, 64);
  EXPECT_GE(delivered, 1);
  EXPECT_EQ(delivered, cycles);
  // The collector ended the calls it would not serve, and every call it
  // admitted within its 10 s deadline.
  EXPECT_EQ(report.value("calls_still_open", -1), 0) << report.dump();
  EXPECT_TRUE(collector.child->Running())
      << ReadFile(tmp.path() / "collector.log").value_or("");
}

}  // namespace
}  // namespace evidentia
