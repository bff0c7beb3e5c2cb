#include "common/json.h"

#include <string>

#include "absl/status/status.h"
#include "evidentia/v1/reports.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"

namespace evidentia {
namespace {

using ::testing::HasSubstr;

TEST(JsonTest, PrintsDefaultsInLowerCamelCaseOnOneLine) {
  v1::AgentRecord agent;
  agent.set_agent_id("a1b2");
  absl::StatusOr<std::string> json = ToJson(agent);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"agentId\":\"a1b2\""));
  EXPECT_THAT(*json, HasSubstr("\"lastSeq\":\"0\""));
  EXPECT_EQ(json->find('\n'), json->size() - 1);
}

// A timestamp after the year 9999 has no RFC 3339 form.
TEST(JsonTest, TimestampOutOfRangeIsInternalNamingTheMessage) {
  v1::AgentRecord agent;
  agent.mutable_last_seen()->set_seconds(253402300800);
  absl::StatusOr<std::string> json = ToJson(agent);
  ASSERT_FALSE(json.ok()) << *json;
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(json.status().message(), HasSubstr("evidentia.v1.AgentRecord"));
}

}  // namespace
}  // namespace evidentia
