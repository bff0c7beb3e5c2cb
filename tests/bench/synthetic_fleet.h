// A synthetic fleet in a collector's store, for benchmarks: N enrolled
// hosts, each with its own facts for every probe of bench::HostFacts, as
// the latest observations and in the history (received 90 days before
// `now`, and again within the last 50 minutes), so grading now and as of a
// past moment both have evidence to read.
#ifndef EVIDENTIA_TESTS_BENCH_SYNTHETIC_FLEET_H_
#define EVIDENTIA_TESTS_BENCH_SYNTHETIC_FLEET_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "collector/store/keys.h"
#include "collector/store/store.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/store.pb.h"
#include "tests/bench/synthetic.h"

namespace evidentia::bench {

inline absl::Status FillFleet(collector::Store& store, int hosts,
                              absl::Time now) {
  for (int i = 0; i < hosts; ++i) {
    collector::Batch batch;
    v1::AgentRecord agent;
    agent.set_agent_id(absl::StrFormat("%032x", i + 1));
    agent.mutable_host()->set_hostname(absl::StrCat("host-", i));
    *agent.mutable_enrolled_at() = ToProto(now - absl::Hours(24 * 90));
    *agent.mutable_first_seen() = agent.enrolled_at();
    *agent.mutable_last_seen() = ToProto(now - absl::Minutes(i % 50));
    agent.set_last_seq(2000);
    (*agent.mutable_labels())["dept"] = i % 4 == 0 ? "finance" : "engineering";
    batch.Put(collector::Table::kAgents, agent.agent_id(),
              agent.SerializeAsString());
    for (const auto& [probe, facts] : HostFacts(i)) {
      const std::string body = facts.SerializeAsString();
      const std::string digest = Sha256(body);
      batch.Put(collector::Table::kObjects, digest, body);
      v1::LatestObservation latest;
      latest.set_check_id(probe);
      latest.set_probe(probe);
      latest.set_seq(2000);
      latest.set_facts_sha256(digest);
      *latest.mutable_collected_at() = agent.last_seen();
      *latest.mutable_received_at() = agent.last_seen();
      batch.Put(collector::Table::kLatest,
                collector::keys::Latest(agent.agent_id(), probe),
                latest.SerializeAsString());
      batch.Put(collector::Table::kHistory,
                collector::keys::History(
                    agent.agent_id(), probe,
                    absl::ToUnixMicros(FromProto(agent.last_seen()))),
                latest.SerializeAsString());
      v1::LatestObservation first = latest;
      first.set_seq(1);
      *first.mutable_collected_at() = agent.enrolled_at();
      *first.mutable_received_at() = agent.enrolled_at();
      batch.Put(collector::Table::kHistory,
                collector::keys::History(
                    agent.agent_id(), probe,
                    absl::ToUnixMicros(FromProto(agent.enrolled_at()))),
                first.SerializeAsString());
    }
    if (absl::Status s = store.Commit(batch); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace evidentia::bench

#endif  // EVIDENTIA_TESTS_BENCH_SYNTHETIC_FLEET_H_
