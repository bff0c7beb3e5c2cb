// ToValidUtf8 on any bytes: the same length ('?' per bad byte), valid UTF-8
// (so a second pass changes nothing), and valid input unchanged.
#include "agent/linux/sys/utf8.h"
#include "google/protobuf/stubs/common.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using evidentia::fuzz::Require;
  const std::string_view text = evidentia::fuzz::AsText(data, size);
  const std::string once = evidentia::agent::ToValidUtf8(text);
  Require(once.size() == text.size(), "one byte out per byte in");
  Require(evidentia::agent::ToValidUtf8(once) == once, "output is valid");
  Require(google::protobuf::internal::IsStructurallyValidUTF8(once.data(),
                                                              once.size()),
          "protobuf accepts the output");
  if (google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                          text.size())) {
    Require(once == text, "valid UTF-8 is kept");
  }
  return 0;
}
