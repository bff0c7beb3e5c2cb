// `evidentia`'s command table, --help, CLI11 parsing and dispatch.
#include "cli/operator_cli.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "bundle/verify.h"
#include "cli/cli_internal.h"
#include "cli/facts_summary.h"
#include "common/cli_flags.h"
#include "common/status_macros.h"

namespace evidentia::collector {
namespace operator_cli {
namespace {

constexpr char kOverviewHead[] =
    R"(evidentia: the operator's view of an Evidentia collector

usage: evidentia COMMAND [flags]     (evidentia COMMAND --help: its flags)

commands:
)";

constexpr char kTimeNote[] =
    R"(
TIME and DATE: 2026-11-22, 2026-11-22T10:00:00Z or "2026-11-22 10:00" (UTC).
)";

constexpr char kGradesNote[] =
    R"(Grades: compliant, opportunity for improvement, minor nonconformity, major
nonconformity, not applicable (the rules: policies/README.md).
)";

constexpr char kVerifyExitCodes[] =
    "exit codes: 0 verified; 1 verification failed (or the bundle cannot be "
    "read); 2 usage\n";

constexpr char kExitCodes[] =
    R"(exit codes: 0 ok; 1 refused or failed, by the collector or here (a CA,
certificate, key or collector.addr that cannot be read, a key other users
can read, a --file that cannot be read); 2 usage; 3 collector unreachable
)";

// One flag a command takes: `--name VALUE` when `value` names its argument
// in help ("DIR", "TIME"), boolean `--name` when `value` is empty.
struct FlagSpec {
  std::string name;
  std::string value;
  std::string help;
  bool required = false;
};

// The flags of every command that talks to the collector.
const std::vector<FlagSpec>& ConnectionFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"data-dir", "DIR",
       "collector data dir ($EVIDENTIA_DATA_DIR, else /var/lib/evidentia)"},
      {"collector", "HOST:PORT", "collector address (else DIR/collector.addr)"},
      {"ca", "FILE", "CA certificate to trust (else DIR/ca.pem)"},
      {"cert", "FILE", "client certificate (else DIR/operator-client.pem)"},
      {"key", "FILE", "its key, 0600 (else DIR/operator-client.key)"},
  };
  return *kFlags;
}

// --json and --help, which every command takes.
const std::vector<FlagSpec>& OutputFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"json", "", "one JSON document: the gRPC response in proto3 JSON"},
      {"help", "", "this help"},
  };
  return *kFlags;
}

using Handler = int (*)(const Invocation&, std::ostream&, std::ostream&);

// One command: its words, the operands after them, and the flags it takes
// besides --json, --help and the connection flags, which all take.
struct Command {
  std::vector<std::string> words;
  std::vector<std::string> operands;  // their names, for usage
  std::string synopsis;               // after "evidentia "
  std::string summary;
  std::vector<FlagSpec> flags;
  Handler handler = nullptr;  // null: verify, which needs no collector
};

const std::vector<Command>& Commands() {
  const FlagSpec scope = {"scope", "KEY=VALUE",
                          "only hosts enrolled with this label"};
  const FlagSpec as_of = {"as-of", "TIME", "grade as of then (default: now)"};
  const FlagSpec note = {"note", "TEXT", "a note kept with it"};
  const FlagSpec operator_key = {
      "operator-key", "FILE",
      "the key that signs it (default DIR/operator.key)"};
  const FlagSpec evidence = {
      "evidence", "REFS",
      "what it rests on: record:N, snapshot:AGENT/SEQ, manual:SHA256, "
      "comma-separated"};
  static const auto* const kCommands = new std::vector<Command>{
      {{"token", "create"},
       {},
       "token create [--ttl DURATION] [--uses N]",
       "one-time enrolment token (printed alone on stdout)",
       {{"ttl", "DURATION", "valid for (default 1h, at most 30 days)"},
        {"uses", "N", "enrolments it allows (default 1)"}},
       TokenCreate},
      {{"agents"},
       {},
       "agents",
       "the asset register: enrolled hosts, first/last seen, revoked",
       {},
       Agents},
      {{"user", "add"},
       {"NAME"},
       "user add NAME --role admin|viewer|auditor [--audit ID,...] "
       "[--password-stdin]",
       "a user of the web dashboard; prints a one-time password unless one "
       "is read from standard input",
       {{"role", "ROLE", "admin, viewer or auditor (required)", true},
        {"audit", "ID,...", "auditor: the audits invited to, comma-separated"},
        {"password-stdin", "", "read the password from standard input"}},
       UserAdd},
      {{"agents", "revoke"},
       {"ID"},
       "agents revoke ID",
       "refuse what this agent sends from now on; what it sent stays, "
       "marked revoked",
       {},
       AgentsRevoke},
      {{"evidence"},
       {},
       "evidence --agent ID [--check ID]",
       "what the collector holds for one host",
       {{"agent", "ID", "the agent (required)", true},
        {"check", "ID", "only this check"}},
       Evidence},
      {{"evidence", "add"},
       {},
       "evidence add --control ID --file FILE --valid-until DATE "
       "[--note TEXT] [--operator-key FILE]",
       "record a document as manual evidence, signed by the operator key "
       "(DIR/operator.key)",
       {{"control", "ID", "the control it is evidence for (required)", true},
        {"file", "FILE", "the document (required)", true},
        {"valid-until", "DATE", "when it stops counting (required)", true},
        {"note", "TEXT", "a note kept with it"},
        {"operator-key", "FILE",
         "the key that signs it (default DIR/operator.key)"}},
       EvidenceAdd},
      {{"document", "add"},
       {},
       "document add --clause ID [--document ID] --file FILE --version V "
       "--review-by DATE [--approved-by NAME --approved-on DATE] "
       "[--note TEXT] [--operator-key FILE]",
       "register a version of an ISMS document (clauses 4 to 10), signed "
       "by the operator key; earlier versions stay registered",
       {{"clause", "ID", "the clause it answers: 4.3, 6.1.2 ... (required)",
         true},
        {"document", "ID",
         "which document of the clause (default: the one it requires)"},
        {"file", "FILE", "the document (required)", true},
        {"version", "V", "its version as you number it (required)", true},
        {"review-by", "DATE", "when it is next due for review (required)",
         true},
        {"approved-by", "NAME", "who approved this version"},
        {"approved-on", "DATE", "when they approved it"},
        {"note", "TEXT", "a note kept with it"},
        {"operator-key", "FILE",
         "the key that signs it (default DIR/operator.key)"}},
       DocumentAdd},
      {{"documents"},
       {},
       "documents",
       "every registered version of every ISMS document",
       {},
       Documents},
      {{"readiness"},
       {},
       "readiness [--as-of TIME]",
       "Stage 1 readiness: each clause's documents, the SoA, the verdict",
       {as_of},
       Readiness},
      {{"audit", "open"},
       {},
       "audit open --kind KIND --body NAME --lead-auditor NAME --from DATE "
       "--to DATE [--note TEXT] [--operator-key FILE]",
       "open an audit of the cycle; its id is KIND-FROM "
       "(stage2-2027-03-15)",
       {{"kind", "KIND",
         "stage1, stage2, surveillance or recertification (required)", true},
        {"body", "NAME", "the certification body (required)", true},
        {"lead-auditor", "NAME", "the lead auditor (required)", true},
        {"from", "DATE", "the first day audited (required)", true},
        {"to", "DATE", "the last day audited (required)", true},
        note,
        operator_key},
       AuditOpen},
      {{"audit", "close"},
       {"ID"},
       "audit close ID --on DATE [--note TEXT] [--operator-key FILE]",
       "close an audit: no finding can be recorded on it afterwards",
       {{"on", "DATE", "the day it closed (required)", true},
        note,
        operator_key},
       AuditClose},
      {{"audit", "decide"},
       {"ID"},
       "audit decide ID --decision granted|refused --on DATE "
       "[--certificate NUMBER] [--note TEXT] [--operator-key FILE]",
       "the certification decision after a closed Stage 2 or "
       "recertification audit; refused while a nonconformity is open",
       {{"decision", "WORD", "granted or refused (required)", true},
        {"on", "DATE", "the day of the decision (required)", true},
        {"certificate", "NUMBER", "the body's certificate number"},
        note,
        operator_key},
       AuditDecide},
      {{"finding", "add"},
       {},
       "finding add --audit ID (--control ID | --clause ID) --grade GRADE "
       "--statement TEXT --by NAME [--evidence REFS] [--operator-key FILE]",
       "record an auditor's finding in an open audit",
       {{"audit", "ID", "the audit (required)", true},
        {"control", "ID", "the Annex A control it is on"},
        {"clause", "ID", "or the clause it is on"},
        {"grade", "GRADE", "compliant, ofi, minor or major (required)", true},
        {"statement", "TEXT", "the auditor's words (required)", true},
        {"by", "NAME", "who recorded it (required)", true},
        evidence,
        operator_key},
       FindingAdd},
      {{"findings"},
       {},
       "findings [--as-of TIME]",
       "every finding: the auditor's grade beside Evidentia's, its action",
       {as_of},
       Findings},
      {{"action", "open"},
       {},
       "action open --finding N --action TEXT --owner NAME --due DATE "
       "[--root-cause TEXT] [--correction TEXT] [--hosts ID,...] "
       "[--note TEXT] [--operator-key FILE]",
       "open the corrective action of a finding; with --hosts it is "
       "effective once every host passes the control's checks",
       {{"finding", "N", "the finding's record number (required)", true},
        {"action", "TEXT", "what will be done (required)", true},
        {"owner", "NAME", "who owns it (required)", true},
        {"due", "DATE", "when it is due (required)", true},
        {"root-cause", "TEXT",
         "why it happened (required for a nonconformity)"},
        {"correction", "TEXT", "what was done at once"},
        {"hosts", "ID,...", "agent ids of the hosts affected"},
        note,
        operator_key},
       ActionOpen},
      {{"action", "close"},
       {},
       "action close --finding N [--evidence REFS] [--note TEXT] "
       "[--operator-key FILE]",
       "close a corrective action as effective: with hosts, on the proof "
       "of their passing snapshots; without, on --evidence",
       {{"finding", "N", "the finding's record number (required)", true},
        evidence,
        note,
        operator_key},
       ActionClose},
      {{"sample"},
       {},
       "sample --audit ID --seed TEXT --control ID --hosts N --moments M "
       "[--operator-key FILE]",
       "draw the hosts and moments an auditor's seed gives, and record it",
       {{"audit", "ID", "the audit, its period ended (required)", true},
        {"seed", "TEXT", "the auditor's seed, 8 characters or more (required)",
         true},
        {"control", "ID", "the control sampled (required)", true},
        {"hosts", "N", "how many hosts (required)", true},
        {"moments", "M", "how many moments (required)", true},
        operator_key},
       Sample},
      {{"cycle"},
       {},
       "cycle [--as-of TIME]",
       "the certification cycle: audits, certificate, what is due next",
       {as_of},
       Cycle},
      {{"events"},
       {},
       "events",
       "security events (forged signatures, equivocations)",
       {},
       Events},
      {{"controls"},
       {},
       "controls [--scope KEY=VALUE] [--as-of TIME]",
       "the SoA with a grade per control",
       {scope, as_of},
       Controls},
      {{"control"},
       {"ID"},
       "control ID [--scope ...] [--as-of ...]",
       "one control: failing and stale hosts, reasons, since when",
       {scope, as_of},
       ControlDetail},
      {{"host"},
       {"HOST"},
       "host HOST [--scope ...] [--as-of ...]",
       "every check on one host (agent id or hostname)",
       {scope, as_of},
       Host},
      {{"history"},
       {},
       "history --control ID [--from TIME] [--to TIME] [--scope ...]",
       "grade changes and compliant share (default: last 30 days)",
       {{"control", "ID", "the control (required)", true},
        {"from", "TIME", "start of the period"},
        {"to", "TIME", "end of the period"},
        scope},
       History},
      {{"export"},
       {},
       "export (--from DATE --to DATE | --audit ID) --out DIR|FILE.tar.gz "
       "[--scope ...] [--tar]",
       "the auditor bundle of a period or of an audit (docs/bundle.md); "
       "--to DATE means the end of that day",
       {{"from", "DATE", "start of the period"},
        {"to", "DATE", "end of the period; a date means its end"},
        {"audit", "ID", "instead of a period: the audit's, to its last record"},
        {"out", "DIR|FILE.tar.gz",
         "a new directory, or one .tar.gz file (required)", true},
        scope,
        {"tar", "", "with --out DIR, also write DIR.tar.gz"}},
       Export},
      {{"verify"},
       {"DIR|FILE.tar.gz"},
       "verify DIR|FILE.tar.gz [--threads N]",
       "check a bundle completely, offline (no collector; "
       "evidentia verify --help)",
       {{"threads", "N", "threads to verify with (default 0: one per core)"}},
       nullptr},
      {{"log", "checkpoint"},
       {},
       "log checkpoint [--new]",
       "the transparency log's newest signed checkpoint",
       {{"new", "", "have the collector sign one now"}},
       LogCheckpoint},
      {{"log", "prove"},
       {"AGENT", "SEQ"},
       "log prove AGENT SEQ",
       "inclusion proof of one snapshot in that checkpoint",
       {},
       LogProve},
      {{"log", "consistency"},
       {"SIZE"},
       "log consistency SIZE",
       "proof that the log of SIZE is a prefix of it",
       {},
       LogConsistency},
  };
  return *kCommands;
}

// `flags` as help lines, "  --name VALUE  help", the help aligned.
std::string FlagHelp(const std::vector<FlagSpec>& flags) {
  size_t width = 0;
  for (const FlagSpec& flag : flags) {
    width =
        std::max(width, flag.name.size() + 2 +
                            (flag.value.empty() ? 0 : flag.value.size() + 1));
  }
  std::string out;
  for (const FlagSpec& flag : flags) {
    std::string left = absl::StrCat("--", flag.name);
    if (!flag.value.empty()) absl::StrAppend(&left, " ", flag.value);
    left.resize(width, ' ');
    absl::StrAppend(&out, "  ", left, "  ", flag.help, "\n");
  }
  return out;
}

std::vector<FlagSpec> Concat(const std::vector<FlagSpec>& a,
                             const std::vector<FlagSpec>& b) {
  std::vector<FlagSpec> all = a;
  all.insert(all.end(), b.begin(), b.end());
  return all;
}

std::string Overview() {
  std::string text = kOverviewHead;
  for (const Command& command : Commands()) {
    absl::StrAppend(&text, "  ", command.synopsis, "\n      ", command.summary,
                    "\n");
  }
  absl::StrAppend(&text, kTimeNote, kGradesNote,
                  "\nevery command but verify (the connection from the "
                  "collector's data dir unless given):\n",
                  FlagHelp(Concat(OutputFlags(), ConnectionFlags())), "\n",
                  kExitCodes);
  return text;
}

// What one command line asked for, filled while CLI11 parses it.
struct Parsed {
  const Command* command = nullptr;  // the innermost command named
  FlagValues flags;
  std::map<const Command*, std::vector<std::string>> operands;  // in order
  std::optional<absl::Duration> ttl;
  int64_t uses = 0;
  bool uses_given = false;
  int64_t threads = 0;  // verify --threads
};

// The CLI11 command of `words` under `app`, made on first use.
CLI::App* CommandApp(CLI::App& app, const std::vector<std::string>& words) {
  CLI::App* at = &app;
  for (const std::string& word : words) {
    CLI::App* next = nullptr;
    for (CLI::App* sub :
         at->get_subcommands(std::function<bool(CLI::App*)>())) {
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) {
      // A word that only groups commands (token, log) needs one of them.
      next = at->add_subcommand(word);
      next->require_subcommand(1);
    }
    at = next;
  }
  return at;
}

// Adds `flag` to `command`; its value lands in parsed->flags, except for
// the typed --ttl and --uses of token create.
void AddFlag(CLI::App& command, const FlagSpec& flag, Parsed* parsed,
             const std::string& group) {
  const std::string name = absl::StrCat("--", flag.name);
  CLI::Option* option = nullptr;
  if (flag.name == "ttl") {
    option = AddDurationOption(command, name, &parsed->ttl, flag.help,
                               absl::Seconds(1));
  } else if (flag.name == "uses") {
    option =
        AddIntegerOption(command, name, &parsed->uses, flag.help, 1, 100000);
    option->each([parsed](const std::string&) { parsed->uses_given = true; });
  } else if (flag.name == "threads") {
    option =
        AddIntegerOption(command, name, &parsed->threads, flag.help, 0, 1024);
  } else if (flag.value.empty()) {
    option = command
                 .add_flag_function(
                     name,
                     [parsed, key = flag.name](int64_t) {
                       parsed->flags.Set(key, "true");
                     },
                     flag.help)
                 ->disable_flag_override();
  } else {
    option = command
                 .add_option_function<std::string>(
                     name,
                     [parsed, key = flag.name](const std::string& value) {
                       parsed->flags.Set(key, value);
                     },
                     flag.help)
                 ->type_name(flag.value);
  }
  // flag.required is checked once the command is known: CLI11 would
  // require `evidence --agent` of `evidence add` too.
  option->group(group);
}

// Every command of Commands() as a CLI11 command of `app`, recording what
// was given in *parsed.
void DefineCommands(CLI::App& app, Parsed* parsed) {
  app.require_subcommand(1);
  for (const Command& command : Commands()) {
    CLI::App* sub = CommandApp(app, command.words);
    sub->require_subcommand(0, 1);
    sub->description(
        absl::StrCat("evidentia ", command.synopsis, "\n", command.summary));
    sub->final_callback([parsed, &command] {
      if (parsed->command == nullptr ||
          command.words.size() > parsed->command->words.size()) {
        parsed->command = &command;
      }
    });
    std::vector<std::string>& operands = parsed->operands[&command];
    operands.resize(command.operands.size());
    for (size_t i = 0; i < command.operands.size(); ++i) {
      const std::string& operand = command.operands[i];
      // SEQ and SIZE count log entries: whole numbers, checked here.
      const bool count = operand == "SEQ" || operand == "SIZE";
      AddParsedOption<std::string>(
          *sub, operand, &operands[i],
          [count](absl::string_view text) -> absl::StatusOr<std::string> {
            if (count) RETURN_IF_ERROR(ParseIntegerFlag(text, 0).status());
            return std::string(text);
          },
          "")
          ->required()
          ->type_name("");
    }
    bool takes_time = false;
    for (const FlagSpec& flag : command.flags) {
      AddFlag(*sub, flag, parsed, "Flags");
      takes_time |= flag.value == "TIME" || flag.value == "DATE";
    }
    if (command.handler == nullptr) {
      // verify reads the bundle only; --data-dir is accepted and ignored.
      AddFlag(*sub, {"json", "", "what was verified as one JSON document"},
              parsed, "Flags");
      AddFlag(*sub, {"data-dir", "DIR", "ignored: verify needs no collector"},
              parsed, "Flags");
      sub->footer(kVerifyExitCodes);
      continue;
    }
    for (const FlagSpec& flag : OutputFlags()) {
      if (flag.name != "help") AddFlag(*sub, flag, parsed, "Flags");
    }
    for (const FlagSpec& flag : ConnectionFlags()) {
      AddFlag(*sub, flag, parsed,
              "Connection (from the collector's data dir unless given)");
    }
    sub->footer(absl::StrCat(takes_time ? kTimeNote : "", "\n", kExitCodes));
  }
}

}  // namespace

absl::StatusOr<absl::Time> ParseMoment(const std::string& text) {
  for (const char* format :
       {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%Ez", "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    absl::Time t;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, nullptr)) {
      return t;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text,
                   "\" is not a date (2026-11-22) or date-time "
                   "(2026-11-22T10:00:00Z)"));
}

// A stream buffer that passes each complete line to `dest` through
// TerminalSafe as soon as it ends, and the rest when destroyed: output keeps
// its order with what the command writes to stderr meanwhile.
class TerminalSafeLines : public std::streambuf {
 public:
  explicit TerminalSafeLines(std::ostream& dest) : dest_(dest) {}
  ~TerminalSafeLines() override {
    if (!line_.empty()) dest_ << TerminalSafe(line_);
    dest_.flush();
  }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return 0;
    const char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    line_.append(s, static_cast<size_t>(n));
    const size_t end = line_.rfind('\n');
    if (end != std::string::npos) {
      dest_ << TerminalSafe(std::string_view(line_).substr(0, end + 1));
      line_.erase(0, end + 1);
    }
    return n;
  }
  int sync() override {
    dest_.flush();
    return 0;
  }

 private:
  std::ostream& dest_;
  std::string line_;
};

}  // namespace operator_cli

int RunOperatorCli(int argc, const char* const* argv, std::ostream& out,
                   std::ostream& err) {
  using operator_cli::Command;
  using operator_cli::Connect;
  using operator_cli::Connection;
  using operator_cli::DefineCommands;
  using operator_cli::FlagSpec;
  using operator_cli::Invocation;
  using operator_cli::LocalError;
  using operator_cli::Overview;
  using operator_cli::Parsed;
  if (argc < 2 || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "help") {
    (argc < 2 ? err : out) << Overview();
    return argc < 2 ? kCliUsage : kCliOk;
  }
  // `evidentia-collector token create` is this command line too.
  CLI::App app{"the operator's view of an Evidentia collector", "evidentia"};
  UseEvidentiaConventions(app);
  Parsed parsed;
  std::optional<int> exit = ParseCommandLine(
      app, [&](CLI::App& cli) { DefineCommands(cli, &parsed); }, argc, argv,
      out, err);
  if (exit.has_value()) return *exit;
  if (parsed.command == nullptr) return kCliUsage;  // not reached
  const Command& command = *parsed.command;
  for (const FlagSpec& flag : command.flags) {
    if (flag.required && !parsed.flags.Has(flag.name)) {
      const std::string path =
          absl::StrCat("evidentia ", absl::StrJoin(command.words, " "));
      err << path << ": --" << flag.name << " is required (" << path
          << " --help lists its flags)\n";
      return kCliUsage;
    }
  }
  if (command.handler == nullptr) {
    return RunVerify(parsed.operands[&command].at(0),
                     static_cast<int>(parsed.threads), parsed.flags.Has("json"),
                     out, err);
  }
  absl::StatusOr<Connection> connection = Connect(parsed.flags);
  if (!connection.ok()) return LocalError(connection.status(), err);
  Invocation invocation{parsed.flags, *connection, parsed.operands[&command],
                        parsed.ttl, std::nullopt};
  if (parsed.uses_given) invocation.uses = parsed.uses;
  if (parsed.flags.Has("json")) return command.handler(invocation, out, err);
  // Text output carries what agents sent (hostnames, facts, reasons built
  // from them): nothing in it may drive the operator's terminal.
  operator_cli::TerminalSafeLines safe(out);
  std::ostream text(&safe);
  return command.handler(invocation, text, err);
}

}  // namespace evidentia::collector
