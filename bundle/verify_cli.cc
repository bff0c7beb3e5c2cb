// RunVerify: `evidentia verify`'s report, as text or JSON.
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "bundle/verify.h"
#include "nlohmann/json.hpp"

namespace evidentia::collector {

int RunVerify(const std::string& path, int threads, bool json,
              std::ostream& out, std::ostream& err) {
  absl::StatusOr<BundleVerification> verified = VerifyBundlePath(path, threads);
  if (!verified.ok()) {
    if (json) {
      out << nlohmann::json{{"ok", false},
                            {"bundle", path},
                            {"error", std::string(verified.status().message())}}
                 .dump()
          << "\n";
    } else {
      err << "evidentia verify: FAILED: " << verified.status().message()
          << "\n";
    }
    return 1;
  }
  const BundleVerification& v = *verified;
  if (json) {
    out << nlohmann::json{{"ok", true},
                          {"bundle", path},
                          {"files", v.files},
                          {"agents", v.agents},
                          {"snapshots", v.snapshots},
                          {"signatures", v.snapshots},
                          {"chains", v.chains},
                          {"gaps", v.gaps},
                          {"key_rotations", v.key_rotations},
                          {"inclusion_proofs", v.snapshots},
                          {"log_size", v.log_size},
                          {"manual", v.manual},
                          {"isms_records", v.isms_records},
                          {"isms_recomputed", v.isms_recomputed},
                          {"isms_not_recomputed", v.isms_not_recomputed},
                          {"controls", v.controls},
                          {"collector_key_fingerprint", v.collector_key_id}}
               .dump()
        << "\n";
    return 0;
  }
  out << "Bundle " << path << " verified:\n"
      << "  " << v.files
      << " files match SHA256SUMS, signed by keys/collector.pub.pem; no "
         "other files\n"
      << "  " << v.snapshots << " snapshot signatures from " << v.agents
      << " agents, " << v.chains << " chains continuous\n";
  if (!v.gaps.empty()) {
    out << "  " << v.gaps.size()
        << " signed gap snapshots: the agent reported snapshots it lost\n";
    for (const std::string& gap : v.gaps) out << "    " << gap << "\n";
  }
  if (v.key_rotations > 0) {
    out << "  " << v.key_rotations
        << " device key rotations, each signed by the retired key and the "
           "next\n";
  }
  out << "  " << v.snapshots
      << " inclusion proofs against the signed log checkpoint of size "
      << v.log_size << "\n"
      << "  " << v.manual
      << " manual evidence statements signed by keys/operator.pub.pem\n"
      << "  " << v.isms_records
      << " ISMS records signed by keys/operator.pub.pem, numbered without "
         "gaps, in the log, valid against the bundle's policies\n";
  if (v.isms_recomputed + v.isms_not_recomputed > 0) {
    out << "  " << v.isms_recomputed
        << " proofs of effectiveness and samples recomputed from the "
           "bundle's snapshots";
    if (v.isms_not_recomputed > 0) {
      out << "; " << v.isms_not_recomputed
          << " rest on evidence before the bundle's period (signatures and "
             "log inclusion checked only)";
    }
    out << "\n";
  }
  out << "  " << v.controls
      << " controls re-graded from the bundle's own snapshots, SoA and "
         "policies: report/summary.csv matches\n"
      << "Collector key fingerprint: " << v.collector_key_id << "\n"
      << "Compare it with the fingerprint you received separately from the "
         "organisation.\n";
  return 0;
}

}  // namespace evidentia::collector
