// A received bundle archive: UnpackTarGz on any bytes (gzip-compressed or
// plain tar), which must leave nothing outside its target directory, then
// VerifyBundle on whatever it unpacked.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bundle/archive.h"
#include "bundle/verify.h"
#include "tests/fuzz/fuzz_input.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using evidentia::fuzz::Require;
  char made[] = "/tmp/evidentia-archive-fuzz-XXXXXX";
  Require(::mkdtemp(made) != nullptr, "mkdtemp");
  const fs::path dir = made;
  const fs::path archive = dir / "in.tar.gz";
  {
    std::ofstream out(archive, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(size));
    Require(out.good(), "writing the archive");
  }
  absl::StatusOr<fs::path> root =
      evidentia::collector::UnpackTarGz(archive, dir / "into");
  // Nothing may appear beside the target directory.
  size_t beside = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    (void)entry;
    ++beside;
  }
  Require(beside <= 2, "nothing unpacked outside the target directory");
  if (root.ok()) {
    Require(root->string().rfind((dir / "into").string(), 0) == 0,
            "the bundle root is inside the target directory");
    (void)evidentia::collector::VerifyBundle(*root, 1);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  Require(!ec, "removing the temporary directory");
  return 0;
}
