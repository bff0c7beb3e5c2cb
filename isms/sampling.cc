#include "isms/sampling.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "isms/effectiveness.h"

namespace evidentia::isms {
namespace {

constexpr char kDomain[] = "evidentia-sample-v1";

// SHA-256 over the domain and each part, each part preceded by its length
// as 8 bytes big-endian, so no two lists of parts share an encoding.
std::string Derive(std::initializer_list<absl::string_view> parts) {
  std::string material = kDomain;
  for (absl::string_view part : parts) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      material.push_back(static_cast<char>((part.size() >> shift) & 0xff));
    }
    material.append(part.data(), part.size());
  }
  return Sha256(material);
}

uint64_t FirstEightBytes(const std::string& digest) {
  uint64_t out = 0;
  for (int i = 0; i < 8; ++i) {
    out = (out << 8) | static_cast<unsigned char>(digest[i]);
  }
  return out;
}

}  // namespace

absl::StatusOr<v1::SampleStatement> DrawSample(
    const policy::PolicySet& policy, const collector::Evidence& evidence,
    const SampleRequest& request) {
  const std::vector<const policy::Check*> checks =
      HostChecks(policy, request.control);
  if (checks.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        request.control, " has no host evidence in the SoA to sample"));
  }
  if (request.hosts < 1 || request.hosts > kMaxSampleHosts ||
      request.moments < 1 || request.moments > kMaxSampleMoments) {
    return absl::InvalidArgumentError(
        absl::StrCat("a sample asks for 1 to ", kMaxSampleHosts,
                     " hosts and 1 to ", kMaxSampleMoments, " moments"));
  }
  const absl::Time start = absl::FromCivil(request.from, absl::UTCTimeZone());
  const absl::Time end = absl::FromCivil(request.to + 1, absl::UTCTimeZone());
  const int64_t span = absl::ToInt64Seconds(end - start);
  if (span <= 0) {
    return absl::InvalidArgumentError("the audit's period is empty");
  }

  v1::SampleStatement out;
  out.set_audit(request.audit);
  out.set_seed(request.seed);
  out.set_control(request.control);
  out.set_hosts(request.hosts);
  out.set_moments(request.moments);

  ASSIGN_OR_RETURN(std::vector<v1::AgentRecord> agents, evidence.Agents());
  std::vector<std::pair<std::string, std::string>> keyed;  // key, agent id
  for (const v1::AgentRecord& agent : agents) {
    if (FromProto(agent.enrolled_at()) >= end) continue;
    out.add_population(agent.agent_id());
  }
  std::sort(out.mutable_population()->begin(), out.mutable_population()->end());
  for (const std::string& id : out.population()) {
    keyed.emplace_back(
        Derive({request.audit, request.control, request.seed, "host", id}), id);
  }
  std::sort(keyed.begin(), keyed.end());
  if (keyed.size() > request.hosts) keyed.resize(request.hosts);

  std::vector<absl::Time> moments;
  for (uint32_t j = 0; j < request.moments; ++j) {
    const uint64_t offset =
        FirstEightBytes(Derive({request.audit, request.control, request.seed,
                                "moment", absl::StrCat(j)})) %
        static_cast<uint64_t>(span);
    moments.push_back(start + absl::Seconds(static_cast<int64_t>(offset)));
  }
  std::sort(moments.begin(), moments.end());

  for (const auto& [key, agent] : keyed) {
    out.add_drawn(agent);
    for (absl::Time moment : moments) {
      uint64_t seq = 0;
      for (const policy::Check* check : checks) {
        RETURN_IF_ERROR(
            evidence.History(agent, check->probe, moment,
                             [&seq](const v1::LatestObservation& o) {
                               seq = std::max<uint64_t>(seq, o.seq());
                               return false;
                             }));
      }
      v1::SampledSnapshot& pick = *out.add_picks();
      pick.set_agent_id(agent);
      *pick.mutable_at() = ToProto(moment);
      pick.set_seq(seq);
    }
  }
  return out;
}

}  // namespace evidentia::isms
