#include "cli/facts_summary.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace evidentia::collector {
namespace {

std::string EncryptionName(v1::EncryptionType type) {
  switch (type) {
    case v1::ENCRYPTION_TYPE_LUKS1:
      return "LUKS1";
    case v1::ENCRYPTION_TYPE_LUKS2:
      return "LUKS2";
    case v1::ENCRYPTION_TYPE_PLAIN:
      return "plain dm-crypt";
    case v1::ENCRYPTION_TYPE_BITLK:
      return "BitLocker";
    case v1::ENCRYPTION_TYPE_TCRYPT:
      return "TrueCrypt/VeraCrypt";
    default:
      return "dm-crypt";
  }
}

std::string Day(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

void DiskEncryption(const v1::DiskEncryptionFacts& f, std::string& out) {
  if (f.volumes().empty()) {
    absl::StrAppend(
        &out, "  no fixed volumes (root is ",
        f.root_fs_type().empty() ? "not on a block device" : f.root_fs_type(),
        ")\n");
    return;
  }
  absl::StrAppend(&out, "  ",
                  f.all_volumes_encrypted()
                      ? "every fixed volume is encrypted"
                      : "NOT every fixed volume is encrypted",
                  "\n");
  for (const v1::Volume& v : f.volumes()) {
    const std::string where = v.kind() == v1::VOLUME_KIND_SWAP
                                  ? absl::StrCat("swap ", v.source())
                                  : v.mount_point();
    std::string how;
    if (!v.resolved()) {
      how = "device not found in /sys";
    } else if (v.encrypted()) {
      std::vector<std::string> layers;
      for (const v1::EncryptionLayer& e : v.encryption()) {
        layers.push_back(absl::StrCat(
            EncryptionName(e.type()), " on ", e.device(),
            e.cipher().empty() ? "" : absl::StrCat(", ", e.cipher())));
      }
      how = absl::StrCat("encrypted (", absl::StrJoin(layers, "; "), ")");
    } else {
      how = "NOT encrypted";
    }
    absl::StrAppend(
        &out, "  ", where, " on ", v.device().empty() ? v.source() : v.device(),
        v.fs_type().empty() ? "" : absl::StrCat(" (", v.fs_type(), ")"), ": ",
        how, "\n");
  }
}

void AntiMalware(const v1::AntiMalwareFacts& f, std::string& out) {
  if (f.products().empty()) {
    absl::StrAppend(&out, "  no known anti-malware product found\n");
    return;
  }
  for (const v1::AntiMalwareProduct& p : f.products()) {
    std::vector<std::string> parts;
    parts.push_back(p.installed() ? "installed" : "not installed");
    for (const v1::InstalledPackage& pkg : p.packages()) {
      parts.push_back(absl::StrCat(pkg.name(), " ", pkg.version()));
    }
    // Protection is the scanning engine running, not an updater alone.
    parts.push_back(p.engine_running() ? "engine running"
                                       : "engine NOT running");
    if (!p.engine_running() && p.updater_running()) {
      parts.push_back("only its updater running");
    }
    switch (p.realtime()) {
      case v1::REALTIME_PROTECTION_ENABLED:
        parts.push_back("real-time scanning on");
        break;
      case v1::REALTIME_PROTECTION_DISABLED:
        parts.push_back("real-time scanning OFF");
        break;
      default:
        break;
    }
    if (p.signature_source() == v1::SIGNATURE_SOURCE_ENGINE) {
      parts.push_back(absl::StrCat("signatures built ",
                                   Day(p.signature_build_time_unix()),
                                   " (loaded by the engine)"));
    } else if (p.newest_signature_build_time_unix() > 0) {
      parts.push_back(absl::StrCat("signatures on disk built ",
                                   Day(p.newest_signature_build_time_unix()),
                                   " (not confirmed loaded by the engine)"));
    }
    absl::StrAppend(&out, "  ", p.name(), ": ", absl::StrJoin(parts, ", "),
                    "\n");
  }
}

std::string PasswordName(v1::PasswordState state) {
  switch (state) {
    case v1::PASSWORD_STATE_SET:
      return "password set";
    case v1::PASSWORD_STATE_EMPTY:
      return "EMPTY password";
    case v1::PASSWORD_STATE_LOCKED:
      return "locked";
    case v1::PASSWORD_STATE_NONE:
      return "no password login";
    default:
      return "password state unknown";
  }
}

void LocalAccounts(const v1::LocalAccountsFacts& f, std::string& out) {
  int interactive = 0;
  std::vector<std::string> empty;
  for (const v1::Account& a : f.accounts()) {
    if (a.interactive()) ++interactive;
    if (a.password_state() == v1::PASSWORD_STATE_EMPTY)
      empty.push_back(a.name());
  }
  absl::StrAppend(&out, "  ", f.accounts_size(), " accounts, ", interactive,
                  " with a login shell",
                  f.shadow_readable() ? "" : " (shadow not readable)", "\n");
  absl::StrAppend(&out, "  uid 0 besides root: ",
                  f.uid0_non_root().empty()
                      ? "none"
                      : absl::StrJoin(f.uid0_non_root(), ", "),
                  "\n");
  absl::StrAppend(&out, "  empty passwords: ",
                  empty.empty() ? "none" : absl::StrJoin(empty, ", "), "\n");
  for (const v1::PrivilegedGroup& g : f.privileged_groups()) {
    absl::StrAppend(
        &out, "  group ", g.name(), ": ",
        g.members().empty() ? "no members" : absl::StrJoin(g.members(), ", "),
        "\n");
  }
  for (const v1::SudoRule& r : f.sudo_rules()) {
    absl::StrAppend(
        &out, "  sudoers ", r.is_group() ? "%" : "", r.principal(), ": ",
        r.all_commands() ? "ALL commands" : absl::StrJoin(r.commands(), ", "),
        r.nopasswd() ? " (NOPASSWD)" : "", "  [", r.file(), "]\n");
  }
  for (const v1::Account& a : f.accounts()) {
    if (!a.interactive()) continue;
    absl::StrAppend(
        &out, "  login account ", a.name(), " (uid ", a.uid(), ", ", a.shell(),
        "): ", PasswordName(a.password_state()),
        a.has_last_login_unix()
            ? absl::StrCat(", last login ", Day(a.last_login_unix()))
            : "",
        "\n");
  }
}

// Facts of the probes without a summary of their own: every field that is
// set, one line each ("  name: value"); lists of messages one element a
// line with its set scalar fields. Nested messages are indented; bounded
// in depth and in elements per list.
constexpr int kMaxGenericDepth = 4;
constexpr int kMaxGenericElements = 50;
constexpr size_t kMaxGenericStringBytes = 200;

// A string fact on one line: escaped, and cut (saying so) when long.
std::string OneLine(const std::string& value) {
  if (value.size() <= kMaxGenericStringBytes) return TerminalSafe(value, false);
  return absl::StrCat(
      TerminalSafe(std::string_view(value).substr(0, kMaxGenericStringBytes),
                   false),
      "... (", value.size(), " bytes)");
}

// "(N more)" when a list of `n` was cut at kMaxGenericElements.
std::string More(int n) {
  return n > kMaxGenericElements
             ? absl::StrCat(" (", n - kMaxGenericElements, " more)")
             : "";
}

std::string ScalarText(const google::protobuf::Message& m,
                       const google::protobuf::FieldDescriptor* f, int i) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FD::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "yes"
                                                                    : "no";
    case FD::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, i)
                              : r->GetInt32(m, f));
    case FD::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, i)
                              : r->GetInt64(m, f));
    case FD::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, i)
                              : r->GetUInt32(m, f));
    case FD::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, i)
                              : r->GetUInt64(m, f));
    case FD::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, i)
                              : r->GetDouble(m, f));
    case FD::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, i)
                              : r->GetFloat(m, f));
    case FD::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f))->name();
    case FD::CPPTYPE_STRING:
      return OneLine(rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f));
    default:
      return "";
  }
}

void Generic(const google::protobuf::Message& m, int depth, std::string& out);

// The set scalar fields of `m` on one line: "a=1 b=x".
std::string InlineScalars(const google::protobuf::Message& m) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  std::vector<std::string> parts;
  for (const google::protobuf::FieldDescriptor* f : fields) {
    if (f->is_repeated() ||
        f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    parts.push_back(absl::StrCat(f->name(), "=", ScalarText(m, f, 0)));
  }
  return absl::StrJoin(parts, " ");
}

void Generic(const google::protobuf::Message& m, int depth, std::string& out) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const std::string indent(2 * static_cast<size_t>(depth + 1), ' ');
  std::vector<const FD*> fields;
  r->ListFields(m, &fields);
  for (const FD* f : fields) {
    if (f->cpp_type() != FD::CPPTYPE_MESSAGE) {
      std::string value;
      if (!f->is_repeated()) {
        value = ScalarText(m, f, 0);
      } else {
        std::vector<std::string> items;
        for (int i = 0; i < r->FieldSize(m, f) && i < kMaxGenericElements;
             ++i) {
          items.push_back(ScalarText(m, f, i));
        }
        value =
            absl::StrCat(absl::StrJoin(items, ", "), More(r->FieldSize(m, f)));
      }
      absl::StrAppend(&out, indent, f->name(), ": ", value, "\n");
      continue;
    }
    if (depth + 1 >= kMaxGenericDepth) continue;
    if (!f->is_repeated()) {
      absl::StrAppend(&out, indent, f->name(), ": ",
                      InlineScalars(r->GetMessage(m, f)), "\n");
      Generic(r->GetMessage(m, f), depth + 1, out);
      continue;
    }
    const int n = r->FieldSize(m, f);
    absl::StrAppend(&out, indent, f->name(), " (", n, "):\n");
    for (int i = 0; i < n && i < kMaxGenericElements; ++i) {
      const google::protobuf::Message& e = r->GetRepeatedMessage(m, f, i);
      absl::StrAppend(&out, indent, "- ", InlineScalars(e), "\n");
    }
    if (n > kMaxGenericElements) {
      absl::StrAppend(&out, indent, More(n).substr(1), "\n");
    }
  }
}

}  // namespace

std::string TerminalSafe(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f) {
        absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlong forms, no surrogates).
    size_t n = 0;
    uint32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3, cp = c & 0x0f;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4, cp = c & 0x07;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    bool valid = n > 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) {
      const unsigned char cc = byte(i + k);
      valid = k == 1 ? (cc >= lo && cc <= hi) : (cc >= 0x80 && cc <= 0xbf);
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!valid) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
      ++i;
      continue;
    }
    if (cp <= 0x9f || cp == 0x200e || cp == 0x200f ||
        (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
      absl::StrAppend(&out, "\\u{", absl::Hex(cp, absl::kZeroPad4), "}");
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string SummarizeFacts(const v1::Facts& facts) {
  std::string out;
  switch (facts.kind_case()) {
    case v1::Facts::kDiskEncryption:
      DiskEncryption(facts.disk_encryption(), out);
      break;
    case v1::Facts::kAntiMalware:
      AntiMalware(facts.anti_malware(), out);
      break;
    case v1::Facts::kLocalAccounts:
      LocalAccounts(facts.local_accounts(), out);
      break;
    case v1::Facts::KIND_NOT_SET:
      out = "  (facts of a kind this CLI does not know; see --json)\n";
      break;
    default: {
      const google::protobuf::Reflection* r = facts.GetReflection();
      const google::protobuf::FieldDescriptor* kind =
          r->GetOneofFieldDescriptor(
              facts, v1::Facts::descriptor()->FindOneofByName("kind"));
      Generic(r->GetMessage(facts, kind), 0, out);
      if (out.empty()) out = "  (nothing observed)\n";
    }
  }
  // The summaries above print agents' strings as they came: whatever they
  // hold, nothing reaches the terminal that it would act on.
  return TerminalSafe(out, /*keep_newlines=*/true);
}

}  // namespace evidentia::collector
