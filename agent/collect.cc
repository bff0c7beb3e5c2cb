#include "agent/collect.h"

#include <algorithm>
#include <utility>

#include "common/json.h"
#include "common/sha256.h"
#include "evidentia/v1/facts.pb.h"
#include "evidentia/v1/operator.pb.h"
#include "evidentia/v1/reports.pb.h"
#include "evidentia/v1/snapshot.pb.h"

namespace evidentia::agent {
Collection Collect(const std::vector<std::unique_ptr<Probe>>& probes,
                   const std::filesystem::path& root) {
  Collection collection;
  // Observations with their bodies, sorted by check id below.
  std::vector<std::pair<v1::Observation, std::string>> observed;
  absl::StatusOr<v1::HostFacts> host = CollectHostFacts(root);
  if (host.ok()) {
    collection.host = *std::move(host);
  } else {
    v1::Observation failed;
    failed.set_check_id(kHostFactsCheckId);
    failed.set_probe(kHostFactsCheckId);
    failed.set_error(host.status().ToString());
    observed.emplace_back(std::move(failed), "");
  }
  for (const std::unique_ptr<Probe>& probe : probes) {
    v1::Observation observation;
    observation.set_check_id(std::string(probe->id()));
    observation.set_probe(std::string(probe->id()));
    std::string body;
    absl::StatusOr<v1::Facts> facts = probe->Collect(root);
    if (facts.ok()) {
      body = facts->SerializeAsString();
      observation.set_facts_sha256(Sha256(body));
    } else {
      observation.set_error(facts.status().ToString());
    }
    observed.emplace_back(std::move(observation), std::move(body));
  }
  std::sort(observed.begin(), observed.end(), [](const auto& a, const auto& b) {
    return a.first.check_id() < b.first.check_id();
  });
  for (auto& [observation, body] : observed) {
    collection.observations.push_back(std::move(observation));
    collection.bodies.push_back(std::move(body));
  }
  return collection;
}

absl::StatusOr<std::string> CollectionToJson(const Collection& collection) {
  // The shape of `evidentia evidence --json`, so both read alike.
  v1::GetEvidenceResponse view;
  *view.mutable_agent()->mutable_host() = collection.host;
  for (size_t i = 0; i < collection.observations.size(); ++i) {
    const v1::Observation& o = collection.observations[i];
    v1::EvidenceItem* item = view.add_items();
    item->set_check_id(o.check_id());
    item->set_probe(o.probe());
    item->set_facts_sha256(o.facts_sha256());
    item->set_error(o.error());
    if (!collection.bodies[i].empty()) {
      item->mutable_facts()->ParseFromString(collection.bodies[i]);
    }
  }
  return ToJson(view);
}

}  // namespace evidentia::agent
