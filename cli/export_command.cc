// evidentia export: a period's auditor bundle, into a new DIR or .tar.gz.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bundle/archive.h"
#include "bundle/sink.h"
#include "cli/cli_internal.h"
#include "cli/operator_cli.h"
#include "common/proto_time.h"

namespace evidentia::collector::operator_cli {
namespace {

// Receives the Export stream into `sink`: files whole (reassembling pieces),
// the summary from the last message.
absl::StatusOr<v1::ExportSummary> ReceiveBundle(
    grpc::ClientContext& context, grpc::ClientReader<v1::ExportChunk>& reader,
    BundleSink& sink, uint64_t& files) {
  v1::ExportChunk chunk;
  v1::ExportSummary summary;
  std::string pending_path, pending;  // a file arriving in pieces
  absl::Status written;
  while (written.ok() && reader.Read(&chunk)) {
    for (v1::BundleFile& file : *chunk.mutable_files()) {
      if (!pending_path.empty() && file.path() != pending_path) {
        written = absl::DataLossError(
            absl::StrCat(pending_path, " was cut short in the stream"));
        break;
      }
      if (file.more() || !pending_path.empty()) {
        pending_path = file.path();
        pending += file.data();
        if (pending.size() > (1u << 30)) {
          written = absl::ResourceExhaustedError(
              absl::StrCat(pending_path, " is larger than 1 GiB"));
          break;
        }
        if (file.more()) continue;
        written = sink.Add(pending_path, pending);
        pending_path.clear();
        pending.clear();
      } else {
        written = sink.Add(file.path(), file.data());
      }
      if (!written.ok()) break;
      ++files;
    }
    if (chunk.has_summary()) summary = chunk.summary();
  }
  if (!written.ok()) {
    context.TryCancel();
    reader.Finish().IgnoreError();
    return written;
  }
  grpc::Status status = reader.Finish();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  if (summary.files() == 0 || summary.files() != files) {
    return absl::DataLossError(absl::StrCat(
        "received ", files, " files, the collector sent ", summary.files()));
  }
  return summary;
}

}  // namespace

int Export(const Invocation& call, std::ostream& out, std::ostream& err) {
  const FlagValues& args = call.args;
  v1::ExportRequest request;
  request.set_scope(args.Get("scope"));
  if (args.Has("audit")) {
    if (args.Has("from") || args.Has("to")) {
      return Usage(absl::InvalidArgumentError(
                       "--audit exports the audit's own period: no --from or "
                       "--to with it"),
                   err);
    }
    request.set_audit(args.Get("audit"));
  } else {
    if (!args.Has("from") || !args.Has("to")) {
      return Usage(absl::InvalidArgumentError(
                       "say which period (--from and --to) or which audit "
                       "(--audit)"),
                   err);
    }
    absl::StatusOr<absl::Time> from = ParseMoment(args.Get("from"));
    if (!from.ok()) return Usage(from.status(), err);
    absl::StatusOr<absl::Time> to = ParseMoment(args.Get("to"));
    if (!to.ok()) return Usage(to.status(), err);
    if (args.Get("to").size() == 10) {
      *to += absl::Hours(24) - absl::Microseconds(1);  // the end of that day
    }
    *request.mutable_from() = ToProto(*from);
    *request.mutable_to() = ToProto(*to);
  }
  // --out X.tar.gz streams into the archive alone; --out DIR writes the
  // directory (under a temporary name until complete), and --tar adds
  // DIR.tar.gz made from it.
  const std::string target = args.Get("out");
  const bool archive_only = absl::EndsWith(target, ".tar.gz");
  const std::filesystem::path dir = target;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    err << "evidentia: " << target
        << " already exists; a bundle goes into a new one\n";
    return kCliFailed;
  }
  const std::filesystem::path partial =
      absl::StrCat(target, ".partial-", ::getpid());
  std::unique_ptr<DirectorySink> dir_sink;
  std::unique_ptr<TarGzSink> tar_sink;
  absl::Status created;
  if (archive_only) {
    const std::string top =
        std::filesystem::path(target.substr(0, target.size() - 7))
            .filename()
            .string();
    absl::StatusOr<std::unique_ptr<TarGzSink>> sink =
        TarGzSink::Create(dir, top.empty() ? "bundle" : top);
    created = sink.status();
    if (sink.ok()) tar_sink = *std::move(sink);
  } else {
    absl::StatusOr<std::unique_ptr<DirectorySink>> sink =
        DirectorySink::Create(partial);
    created = sink.status();
    if (sink.ok()) dir_sink = *std::move(sink);
  }
  if (!created.ok()) {
    err << "evidentia: " << created.message() << "\n";
    return kCliFailed;
  }
  // `receiving`: while the stream from the collector lasts, when UNAVAILABLE
  // means it went away; finishing the files here is local (1).
  auto fail = [&](const absl::Status& status, bool receiving) {
    if (dir_sink != nullptr) std::filesystem::remove_all(partial, ec);
    err << "evidentia: export failed: " << status.message() << "\n";
    return receiving && status.code() == absl::StatusCode::kUnavailable
               ? kCliUnreachable
               : kCliFailed;
  };

  grpc::ClientContext context;
  Prepare(context, call.connection);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::hours(6));
  const absl::Time started = absl::Now();
  std::unique_ptr<grpc::ClientReader<v1::ExportChunk>> reader =
      call.connection.stub->Export(&context, request);
  uint64_t files = 0;
  BundleSink& sink = archive_only ? static_cast<BundleSink&>(*tar_sink)
                                  : static_cast<BundleSink&>(*dir_sink);
  absl::StatusOr<v1::ExportSummary> summary =
      ReceiveBundle(context, *reader, sink, files);
  if (!summary.ok()) return fail(summary.status(), true);
  if (archive_only) {
    if (absl::Status done = tar_sink->Finish(); !done.ok()) {
      return fail(done, false);
    }
  } else {
    if (absl::Status synced = dir_sink->Finish(); !synced.ok()) {
      return fail(synced, false);
    }
    std::filesystem::rename(partial, dir, ec);
    if (ec) {
      return fail(absl::ErrnoToStatus(
                      ec.value(), absl::StrCat("cannot rename to ", target)),
                  false);
    }
    if (args.Has("tar")) {
      if (absl::Status tar = WriteTarGz(dir, target + ".tar.gz"); !tar.ok()) {
        err << "evidentia: " << target
            << " written, but not the .tar.gz: " << tar.message() << "\n";
        return kCliFailed;
      }
    }
  }
  const double seconds =
      std::max(absl::ToDoubleSeconds(absl::Now() - started), 1e-6);
  if (args.Has("json")) return PrintJson(*summary, out, err);
  const std::string written =
      archive_only
          ? target
          : (args.Has("tar") ? absl::StrCat(target, " and ", target, ".tar.gz")
                             : target);
  out << "wrote " << written << ": " << summary->agents() << " hosts, "
      << summary->snapshots() << " snapshots, " << summary->objects()
      << " objects, " << summary->files() << " files, "
      << absl::StrFormat("%.1f MB in %.2f s (%.0f MB/s)",
                         summary->bytes() / 1e6, seconds,
                         summary->bytes() / 1e6 / seconds)
      << "\nperiod " << When(summary->from()) << " to " << When(summary->to())
      << " (graded as of the end), transparency log size "
      << summary->log_size() << "\ncollector key fingerprint (SHA-256): "
      << summary->collector_key_id() << "\nthe auditor verifies with: "
      << (archive_only ? "tar xzf " + target + " and sh NAME/VERIFY.sh"
                       : "sh " + target + "/VERIFY.sh")
      << "  (or: evidentia verify " << target << ")\n";
  return kCliOk;
}

}  // namespace evidentia::collector::operator_cli
