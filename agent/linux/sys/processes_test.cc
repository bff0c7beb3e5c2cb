#include "agent/linux/sys/processes.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

// --- ProcessNameFromCmdline ----------------------------------------------

TEST(CmdlineTest, TakesBasenameOfArgv0) {
  EXPECT_EQ(ProcessNameFromCmdline(std::string("/usr/sbin/clamd\0-F\0", 19)),
            "clamd");
}

TEST(CmdlineTest, StatusRewrittenArgv0DropsColon) {
  EXPECT_EQ(ProcessNameFromCmdline("sshd: /usr/sbin/sshd -D [listener]"),
            "sshd");
}

TEST(CmdlineTest, KernelThreadHasEmptyCmdline) {
  EXPECT_EQ(ProcessNameFromCmdline(""), "");
}

TEST(CmdlineTest, RewrittenArgv0KeepsFirstWord) {
  EXPECT_EQ(ProcessNameFromCmdline("/opt/x/wdavdaemon edr"), "wdavdaemon");
}

}  // namespace
}  // namespace evidentia::agent
