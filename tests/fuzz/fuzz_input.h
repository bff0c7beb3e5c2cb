// The bytes libFuzzer hands a target, as the text the parsers take.
#ifndef EVIDENTIA_TESTS_FUZZ_FUZZ_INPUT_H_
#define EVIDENTIA_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace evidentia::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Stops the run as a crash (libFuzzer saves the input) when a property that
// must hold for every input does not.
inline void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace evidentia::fuzz

#endif  // EVIDENTIA_TESTS_FUZZ_FUZZ_INPUT_H_
