// GvdbTable (dconf's GVDB databases: ~/.config/dconf/user and the compiled
// /etc/dconf/db/NAME) on any file: open, look up the screen-lock keys and
// the ".locks" table, list every value name, and decode the bytes as a
// GVariant variant cell in both byte orders.
#include <string>

#include "agent/linux/probes/screen_lock_gvdb.h"
#include "agent/linux/probes/screen_lock_probe.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace evidentia::agent;
  std::string_view bytes = evidentia::fuzz::AsText(data, size);
  DecodeGVariantVariant(bytes, false);
  DecodeGVariantVariant(bytes, true);
  absl::StatusOr<GvdbTable> table = GvdbTable::Open(bytes);
  if (!table.ok()) return 0;
  for (std::string_view key :
       {kGnomeLockEnabledKey, kGnomeIdleDelayKey, kGnomeLockDelayKey,
        kGnomeDisableLockScreenKey, std::string_view("/")}) {
    std::optional<DconfValue> value = table->Lookup(key);
    if (value) {
      evidentia::fuzz::Require(!value->type.empty(), "a value has a type");
      evidentia::fuzz::Require(value->type != "b" || value->boolean,
                               "a boolean value holds a boolean");
      evidentia::fuzz::Require(value->type != "u" || value->uint32,
                               "a uint32 value holds a uint32");
    }
    evidentia::fuzz::Require(table->HasValue(key) || !value,
                             "a found value is reported present");
  }
  if (std::optional<GvdbTable> locks = table->Subtable(".locks")) {
    locks->HasValue(kGnomeIdleDelayKey);
    locks->ValueKeys(64);
  }
  for (const std::string& key : table->ValueKeys(256)) {
    table->Lookup(key);
  }
  DconfLayer layer{true, &*table, nullptr};
  ResolveDconfSetting({layer, DconfLayer{false, &*table, &*table}},
                      kGnomeIdleDelayKey, "u");
  return 0;
}
