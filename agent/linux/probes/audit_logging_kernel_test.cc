#include "agent/linux/probes/audit_logging_kernel.h"

#include <linux/audit.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

// One netlink message: header plus payload, padded to NLMSG_ALIGN.
std::string Message(uint16_t type, uint32_t seq, const std::string& payload) {
  nlmsghdr header{};
  header.nlmsg_len = NLMSG_LENGTH(payload.size());
  header.nlmsg_type = type;
  header.nlmsg_seq = seq;
  std::string out(reinterpret_cast<const char*>(&header), sizeof(header));
  out += payload;
  out.resize(NLMSG_ALIGN(out.size()), '\0');
  return out;
}

std::string StatusPayload(uint32_t enabled, uint32_t failure, uint32_t pid) {
  audit_status status{};
  status.enabled = enabled;
  status.failure = failure;
  status.pid = pid;
  status.rate_limit = 100;
  status.backlog_limit = 8192;
  status.lost = 5;
  status.backlog = 1;
  return std::string(reinterpret_cast<const char*>(&status), sizeof(status));
}

std::string ErrorPayload(int32_t error) {
  nlmsgerr err{};
  err.error = error;
  return std::string(reinterpret_cast<const char*>(&err), sizeof(err));
}

TEST(AuditNetlinkDatagramTest, ReadsTheStatusReply) {
  absl::StatusOr<AuditNetlinkDatagram> parsed = ParseAuditNetlinkDatagram(
      Message(AUDIT_GET, 1, StatusPayload(2, 1, 390)), 1);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->status.has_value());
  EXPECT_EQ(parsed->status->enabled, 2u);
  EXPECT_EQ(parsed->status->failure, 1u);
  EXPECT_EQ(parsed->status->pid, 390u);
  EXPECT_EQ(parsed->status->rate_limit, 100u);
  EXPECT_EQ(parsed->status->backlog_limit, 8192u);
  EXPECT_EQ(parsed->status->lost, 5u);
  EXPECT_FALSE(parsed->error.has_value());
}

TEST(AuditNetlinkDatagramTest, AcceptsTheShortStatusOfOldKernels) {
  std::string payload = StatusPayload(1, 0, 0).substr(0, kMinAuditStatusBytes);
  absl::StatusOr<AuditNetlinkDatagram> parsed =
      ParseAuditNetlinkDatagram(Message(AUDIT_GET, 1, payload), 1);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->status.has_value());
  EXPECT_EQ(parsed->status->enabled, 1u);
}

TEST(AuditNetlinkDatagramTest, AckThenReplyInOneDatagram) {
  absl::StatusOr<AuditNetlinkDatagram> parsed = ParseAuditNetlinkDatagram(
      Message(NLMSG_ERROR, 1, ErrorPayload(0)) +
          Message(AUDIT_GET, 1, StatusPayload(0, 1, 0)),
      1);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->error, 0);
  EXPECT_TRUE(parsed->status.has_value());
}

TEST(AuditNetlinkDatagramTest, ErrorsArePositiveErrnos) {
  absl::StatusOr<AuditNetlinkDatagram> parsed =
      ParseAuditNetlinkDatagram(Message(NLMSG_ERROR, 1, ErrorPayload(-1)), 1);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->error, 1);  // EPERM
  EXPECT_FALSE(parsed->status.has_value());
}

TEST(AuditNetlinkDatagramTest, OtherSequenceNumbersAreIgnored) {
  absl::StatusOr<AuditNetlinkDatagram> parsed = ParseAuditNetlinkDatagram(
      Message(AUDIT_GET, 7, StatusPayload(1, 1, 1)), 1);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->status.has_value());
  EXPECT_FALSE(parsed->error.has_value());
}

TEST(AuditNetlinkDatagramTest, TruncatedHeader) {
  EXPECT_FALSE(ParseAuditNetlinkDatagram(std::string(8, '\0'), 1).ok());
}

TEST(AuditNetlinkDatagramTest, LengthPastTheDatagram) {
  std::string message = Message(AUDIT_GET, 1, StatusPayload(1, 1, 1));
  EXPECT_FALSE(
      ParseAuditNetlinkDatagram(message.substr(0, message.size() - 4), 1).ok());
}

TEST(AuditNetlinkDatagramTest, LengthShorterThanAHeader) {
  std::string message = Message(AUDIT_GET, 1, "");
  uint32_t bad = 4;
  std::memcpy(message.data(), &bad, sizeof(bad));
  EXPECT_FALSE(ParseAuditNetlinkDatagram(message, 1).ok());
}

TEST(AuditNetlinkDatagramTest, TruncatedStatus) {
  EXPECT_FALSE(
      ParseAuditNetlinkDatagram(Message(AUDIT_GET, 1, std::string(12, 'x')), 1)
          .ok());
}

TEST(AuditNetlinkDatagramTest, ErrorOutOfRange) {
  EXPECT_FALSE(
      ParseAuditNetlinkDatagram(Message(NLMSG_ERROR, 1, ErrorPayload(5)), 1)
          .ok());
  EXPECT_FALSE(
      ParseAuditNetlinkDatagram(Message(NLMSG_ERROR, 1, "ab"), 1).ok());
}

TEST(AuditNetlinkDatagramTest, EmptyDatagramHoldsNothing) {
  absl::StatusOr<AuditNetlinkDatagram> parsed =
      ParseAuditNetlinkDatagram("", 1);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->status.has_value());
  EXPECT_FALSE(parsed->error.has_value());
}

TEST(FakeKernelAuditSourceTest, ReturnsItsAnswer) {
  FakeKernelAuditSource fake(absl::PermissionDeniedError("EPERM"));
  EXPECT_EQ(fake.GetStatus().status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace evidentia::agent
