#include "agent/linux/probes/firewall_ruleset_source.h"

#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/status/status.h"
#include "agent/linux/sys/text.h"

namespace evidentia::agent {
namespace {

struct NftCtxFree {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// libnftables is not thread-safe even with one context per call:
// nft_ctx_new initialises GMP and xtables once through an unguarded static
// flag, and nft_run_cmd_from_buffer and nft_ctx_free release a process-wide
// interface cache. Every use in this process goes through this mutex.
std::mutex& LibnftablesMutex() {
  static std::mutex* const mutex = new std::mutex;
  return *mutex;
}

}  // namespace

absl::StatusOr<std::string> NftRulesetSource::ListRuleset() const {
  std::lock_guard<std::mutex> lock(LibnftablesMutex());
  // libnftables exits the process when it cannot open its netlink socket
  // (nft_ctx_new -> nft_mnl_socket_open -> netlink_init_error); find that
  // out first, without it.
  int probe_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (probe_fd < 0) {
    const int error = errno;
    return absl::UnavailableError(
        Cat("netfilter netlink socket: ", std::strerror(error)));
  }
  close(probe_fd);

  std::unique_ptr<nft_ctx, NftCtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (ctx == nullptr) return absl::InternalError("libnftables: no context");
  // Stateless: no counter values, which change with every packet.
  nft_ctx_output_set_flags(ctx.get(),
                           NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_STATELESS);
  // Dry run: nothing is ever committed to the kernel (a list command sends
  // no batch anyway; this holds even if the command changed).
  nft_ctx_set_dry_run(ctx.get(), true);
  if (nft_ctx_buffer_output(ctx.get()) != 0 ||
      nft_ctx_buffer_error(ctx.get()) != 0) {
    return absl::InternalError("libnftables: cannot buffer output");
  }
  errno = 0;
  const int rc = nft_run_cmd_from_buffer(ctx.get(), "list ruleset");
  const int error = errno;
  if (rc != 0) {
    const char* text = nft_ctx_get_error_buffer(ctx.get());
    std::string message = Cat("libnftables list ruleset: ",
                              TrimRight(text != nullptr ? text : ""));
    if (error == EPERM || error == EACCES ||
        Contains(message, "Operation not permitted") ||
        Contains(message, "Permission denied")) {
      return absl::PermissionDeniedError(message);
    }
    return absl::InternalError(message);
  }
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  return std::string(out != nullptr ? out : "");
}

}  // namespace evidentia::agent
