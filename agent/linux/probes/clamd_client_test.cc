#include "agent/linux/probes/clamd_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_clamd.h"
#include "tests/support/temp_dir.h"

namespace evidentia::agent {
namespace {

namespace fs = std::filesystem;
using ::evidentia::testing::FakeClamd;
using ::evidentia::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kLoaded[] = "ClamAV 1.0.7/27480/Tue Dec  1 09:31:02 2026";
// 2026-12-01 09:31:02 UTC.
constexpr int64_t kLoadedUtc = 1796117462;

absl::StatusOr<ClamdVersion> Parse(std::string_view reply) {
  return ParseClamdVersionReply(reply, absl::UTCTimeZone());
}

// --- ParseClamdVersionReply ------------------------------------------------

TEST(ClamdVersionReplyTest, ReadsEngineDatabaseVersionAndDate) {
  absl::StatusOr<ClamdVersion> v = Parse(kLoaded);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->engine_version, "1.0.7");
  EXPECT_EQ(v->database_version, 27480u);
  EXPECT_EQ(v->database_build_time_text, "Tue Dec  1 09:31:02 2026");
  EXPECT_EQ(v->database_build_time_unix, kLoadedUtc);
}

TEST(ClamdVersionReplyTest, EngineAloneMeansNoDatabaseLoaded) {
  absl::StatusOr<ClamdVersion> v = Parse("ClamAV 1.4.3");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->engine_version, "1.4.3");
  EXPECT_EQ(v->database_version, 0u);
  EXPECT_EQ(v->database_build_time_unix, 0);
  EXPECT_EQ(v->database_build_time_text, "");
}

TEST(ClamdVersionReplyTest, AcceptsNulAndNewlineTerminators) {
  for (std::string reply :
       {std::string(kLoaded) + '\0', std::string(kLoaded) + '\n',
        std::string(kLoaded)}) {
    absl::StatusOr<ClamdVersion> v = Parse(reply);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->database_version, 27480u);
    EXPECT_EQ(v->database_build_time_unix, kLoadedUtc);
  }
}

TEST(ClamdVersionReplyTest, IgnoresBytesAfterTheNul) {
  absl::StatusOr<ClamdVersion> v =
      Parse(std::string("ClamAV 1.0.7\0/27480/Tue Dec  1 09:31:02 2026", 44));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->database_version, 0u);
}

TEST(ClamdVersionReplyTest, ReadsTheDateInTheGivenZone) {
  absl::TimeZone paris;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Paris", &paris));
  absl::StatusOr<ClamdVersion> v = ParseClamdVersionReply(kLoaded, paris);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->database_build_time_unix, kLoadedUtc - 3600);  // UTC+1
}

TEST(ClamdVersionReplyTest, TwoDigitDayWithOneSpace) {
  absl::StatusOr<ClamdVersion> v =
      Parse("ClamAV 1.0.7/27823/Tue Nov 17 09:00:00 2026");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->database_build_time_unix, 1794906000);
}

TEST(ClamdVersionReplyTest, UnreadableDateKeepsTextWithTimeZero) {
  absl::StatusOr<ClamdVersion> v = Parse("ClamAV 1.0.7/27480/yesterday");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->database_version, 27480u);
  EXPECT_EQ(v->database_build_time_text, "yesterday");
  EXPECT_EQ(v->database_build_time_unix, 0);
}

TEST(ClamdVersionReplyTest, RejectsOtherReplies) {
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("UNKNOWN COMMAND").ok());
  EXPECT_FALSE(Parse("ClamAV").ok());
  EXPECT_FALSE(Parse("clamav 1.0.7").ok());
  EXPECT_FALSE(Parse("PONG").ok());
}

TEST(ClamdVersionReplyTest, RejectsEmptyEngineVersion) {
  EXPECT_FALSE(Parse("ClamAV ").ok());
  EXPECT_FALSE(Parse("ClamAV /27480/Tue Dec  1 09:31:02 2026").ok());
}

TEST(ClamdVersionReplyTest, RejectsDatabaseVersionWithoutDate) {
  EXPECT_FALSE(Parse("ClamAV 1.0.7/27480").ok());
  EXPECT_FALSE(Parse("ClamAV 1.0.7/27480/").ok());
  EXPECT_FALSE(Parse("ClamAV 1.0.7/27480/   ").ok());
}

TEST(ClamdVersionReplyTest, RejectsBadOrZeroDatabaseVersion) {
  EXPECT_FALSE(Parse("ClamAV 1.0.7/abc/Tue Dec  1 09:31:02 2026").ok());
  EXPECT_FALSE(Parse("ClamAV 1.0.7/-1/Tue Dec  1 09:31:02 2026").ok());
  EXPECT_FALSE(Parse("ClamAV 1.0.7/0/Tue Dec  1 09:31:02 2026").ok());
  EXPECT_FALSE(Parse("ClamAV 1.0.7//Tue Dec  1 09:31:02 2026").ok());
  EXPECT_FALSE(
      Parse("ClamAV 1.0.7/99999999999999999999/Tue Dec  1 09:31:02 2026").ok());
}

TEST(ClamdVersionReplyTest, CapsLongFields) {
  absl::StatusOr<ClamdVersion> v =
      Parse("ClamAV " + std::string(500, '1') + "/7/" + std::string(500, 'x'));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->engine_version.size(), 64u);
  EXPECT_EQ(v->database_build_time_text.size(), 64u);
}

// --- AskClamd --------------------------------------------------------------

class AskClamdTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  fs::path Socket() const { return dir_.path() / "clamd.ctl"; }

  ScopedTempDir dir_;
};

TEST_F(AskClamdTest, ReturnsTheReplyWithoutItsNul) {
  FakeClamd clamd(Socket(), FakeClamd::Mode::kAnswer, kLoaded);
  ASSERT_TRUE(clamd.ok());
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Seconds(2));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, kLoaded);
  EXPECT_THAT(clamd.commands(), ElementsAre("zVERSION"));
}

TEST_F(AskClamdTest, SilentClamdTimesOutWithinTheDeadline) {
  FakeClamd clamd(Socket(), FakeClamd::Mode::kSilent);
  ASSERT_TRUE(clamd.ok());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Milliseconds(300));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "no answer within 300ms");
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  // A stall would never return; the bound is loose so a loaded machine
  // cannot fail it.
  EXPECT_LT(elapsed, std::chrono::seconds(20));
}

TEST_F(AskClamdTest, AbsentSocketIsNotFound) {
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Seconds(2));
  EXPECT_TRUE(absl::IsNotFound(reply.status())) << reply.status();
  EXPECT_THAT(reply.status().message(), HasSubstr("connect: "));
}

TEST_F(AskClamdTest, StaleSocketNobodyListensOnIsUnavailable) {
  // What clamd leaves behind when it dies: the socket file, no listener.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, Socket().c_str(),
               sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  ::close(fd);
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(), "connect: Connection refused");
}

TEST_F(AskClamdTest, RegularFileIsNotASocket) {
  std::ofstream(Socket()) << "not a socket";
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Seconds(2));
  EXPECT_FALSE(reply.ok());
  EXPECT_THAT(reply.status().message(), HasSubstr("connect: "));
}

TEST_F(AskClamdTest, ClosedWithoutAnswerIsUnavailable) {
  FakeClamd clamd(Socket(), FakeClamd::Mode::kClose);
  ASSERT_TRUE(clamd.ok());
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
}

TEST_F(AskClamdTest, OverlongReplyIsOutOfRange) {
  FakeClamd clamd(Socket(), FakeClamd::Mode::kAnswer,
                  "ClamAV " + std::string(5000, '1'));
  ASSERT_TRUE(clamd.ok());
  absl::StatusOr<std::string> reply =
      AskClamd(Socket(), "VERSION", absl::Seconds(2));
  EXPECT_TRUE(absl::IsOutOfRange(reply.status())) << reply.status();
}

TEST_F(AskClamdTest, PathTooLongForASocketAddress) {
  absl::StatusOr<std::string> reply = AskClamd(
      dir_.path() / std::string(200, 'a'), "VERSION", absl::Seconds(2));
  EXPECT_TRUE(absl::IsInvalidArgument(reply.status())) << reply.status();
}

// --- HostTimeZone ----------------------------------------------------------

class HostTimeZoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.path().empty());
    fs::create_directories(root_.path() / "etc");
  }
  ScopedTempDir root_;
};

TEST_F(HostTimeZoneTest, NamedByTheLocaltimeLink) {
  fs::create_symlink("/usr/share/zoneinfo/Europe/Paris",
                     root_.path() / "etc/localtime");
  EXPECT_EQ(HostTimeZone(root_.path()).name(), "Europe/Paris");
}

TEST_F(HostTimeZoneTest, NamedByEtcTimezoneWithoutALink) {
  std::ofstream(root_.path() / "etc/timezone") << "America/New_York\n";
  EXPECT_EQ(HostTimeZone(root_.path()).name(), "America/New_York");
}

TEST_F(HostTimeZoneTest, UtcWhenNothingNamesAZone) {
  EXPECT_EQ(HostTimeZone(root_.path()).name(), "UTC");
}

TEST_F(HostTimeZoneTest, NamesThatClimbOutAreIgnored) {
  std::ofstream(root_.path() / "etc/timezone") << "../../../etc/passwd\n";
  EXPECT_EQ(HostTimeZone(root_.path()).name(), "UTC");
  std::ofstream(root_.path() / "etc/timezone") << "/etc/localtime\n";
  EXPECT_EQ(HostTimeZone(root_.path()).name(), "UTC");
}

}  // namespace
}  // namespace evidentia::agent
