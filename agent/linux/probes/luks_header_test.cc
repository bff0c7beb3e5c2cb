#include "agent/linux/probes/luks_header.h"

#include <linux/dm-ioctl.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/linux/probes/device_mapper.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

using ::testing::HasSubstr;

std::string FixtureHeader(const std::string& tree, const std::string& dev) {
  absl::StatusOr<std::string> bytes =
      ReadFile(std::filesystem::path(EVIDENTIA_SOURCE_DIR) /
                   "tests/fixtures/disk_encryption" / tree / "dev" / dev,
               1 << 20);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

void PutBigEndian(std::string* bytes, size_t offset, uint64_t value,
                  size_t width) {
  for (size_t i = 0; i < width; ++i) {
    (*bytes)[offset + width - 1 - i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

// A LUKS2 header of `size` bytes whose JSON area holds `json`.
std::string Luks2(const std::string& json, uint64_t size = 16384) {
  std::string bytes(16384, '\0');
  bytes.replace(0, 6, std::string("LUKS\xba\xbe", 6));
  PutBigEndian(&bytes, 6, 2, 2);
  PutBigEndian(&bytes, 8, size, 8);
  bytes.replace(4096, json.size(), json);
  return bytes;
}

TEST(LuksHeaderTest, ReadsCryptsetupLuks1Header) {
  const std::string bytes = FixtureHeader("luks_on_partition", "sda2");
  EXPECT_EQ(*LuksHeaderBytes(bytes), 592u);
  absl::StatusOr<v1::LuksHeader> header = ParseLuksHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->version(), 1u);
  EXPECT_EQ(header->cipher(), "aes-xts-plain64");
  EXPECT_EQ(header->key_bits(), 512u);
  ASSERT_EQ(header->keyslots_size(), 1);  // slots 1-7 disabled
  EXPECT_EQ(header->keyslots(0).kdf(), v1::KDF_TYPE_PBKDF2);
  EXPECT_EQ(header->keyslots(0).pbkdf2_hash(), "sha256");
  EXPECT_EQ(header->keyslots(0).memory_kib(), 0u);
}

TEST(LuksHeaderTest, ReadsCryptsetupLuks2Header) {
  const std::string bytes = FixtureHeader("lvm_on_luks", "sda3");
  EXPECT_EQ(*LuksHeaderBytes(bytes.substr(0, 4096)), 16384u);
  absl::StatusOr<v1::LuksHeader> header = ParseLuksHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->version(), 2u);
  EXPECT_EQ(header->cipher(), "aes-xts-plain64");
  EXPECT_EQ(header->key_bits(), 512u);
  ASSERT_EQ(header->keyslots_size(), 1);
  EXPECT_EQ(header->keyslots(0).kdf(), v1::KDF_TYPE_ARGON2ID);
  EXPECT_EQ(header->keyslots(0).iterations(), 4u);
  EXPECT_EQ(header->keyslots(0).memory_kib(), 65536u);
  EXPECT_EQ(header->keyslots(0).pbkdf2_hash(), "");
}

TEST(LuksHeaderTest, Luks2SlotsInNumericOrderWithTheirKdfs) {
  absl::StatusOr<v1::LuksHeader> header = ParseLuksHeader(Luks2(R"({
    "keyslots": {
      "10": {"type": "luks2", "key_size": 32,
             "kdf": {"type": "pbkdf2", "hash": "sha1", "iterations": 1000}},
      "2": {"type": "luks2", "key_size": 64,
            "kdf": {"type": "argon2i", "time": 5, "memory": "1048576"}},
      "3": {"type": "reencrypt", "key_size": 1},
      "x": {"type": "luks2"}
    },
    "segments": {"1": {"type": "crypt", "encryption": "serpent-xts-plain64"},
                 "0": {"type": "linear"}}})"));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->cipher(), "serpent-xts-plain64");
  EXPECT_EQ(header->key_bits(), 512u);  // the first slot's
  ASSERT_EQ(header->keyslots_size(), 2);
  EXPECT_EQ(header->keyslots(0).index(), 2u);
  EXPECT_EQ(header->keyslots(0).kdf(), v1::KDF_TYPE_ARGON2I);
  EXPECT_EQ(header->keyslots(0).memory_kib(), 1048576u);
  EXPECT_EQ(header->keyslots(1).index(), 10u);
  EXPECT_EQ(header->keyslots(1).kdf(), v1::KDF_TYPE_PBKDF2);
  EXPECT_EQ(header->keyslots(1).pbkdf2_hash(), "sha1");
  EXPECT_EQ(header->keyslots(1).iterations(), 1000u);
}

TEST(LuksHeaderTest, RefusesWhatIsNotALuksHeader) {
  EXPECT_THAT(LuksHeaderBytes(std::string(4096, '\0')).status().message(),
              HasSubstr("no LUKS magic"));
  EXPECT_FALSE(ParseLuksHeader("").ok());
  EXPECT_FALSE(ParseLuksHeader("LUKS\xba\xbe").ok());
  std::string v3 = Luks2("{}");
  PutBigEndian(&v3, 6, 3, 2);
  EXPECT_THAT(ParseLuksHeader(v3).status().message(),
              HasSubstr("unknown LUKS version 3"));
}

TEST(LuksHeaderTest, RefusesTruncatedHeaders) {
  const std::string luks1 = FixtureHeader("luks_on_partition", "sda2");
  EXPECT_THAT(ParseLuksHeader(luks1.substr(0, 591)).status().message(),
              HasSubstr("truncated"));
  const std::string luks2 = FixtureHeader("lvm_on_luks", "sda3");
  EXPECT_THAT(ParseLuksHeader(luks2.substr(0, 8000)).status().message(),
              HasSubstr("truncated"));
}

TEST(LuksHeaderTest, RefusesHeaderSizesTheFormatDoesNotAllow) {
  for (uint64_t size : {uint64_t{0}, uint64_t{4096}, uint64_t{16385},
                        uint64_t{8} << 20, ~uint64_t{0}}) {
    EXPECT_THAT(LuksHeaderBytes(Luks2("{}", size)).status().message(),
                HasSubstr("not one the format allows"))
        << size;
  }
}

TEST(LuksHeaderTest, RefusesMalformedLuks2Json) {
  for (const char* json : {"", "{", "[1,2]", "{\"keyslots\": }", "\xff\xfe"}) {
    EXPECT_THAT(ParseLuksHeader(Luks2(json)).status().message(),
                HasSubstr("not a JSON object"))
        << json;
  }
}

TEST(LuksHeaderTest, WrongTypesInLuks2JsonAreIgnoredNotTrusted) {
  absl::StatusOr<v1::LuksHeader> header = ParseLuksHeader(Luks2(R"({
    "keyslots": {"0": {"type": "luks2", "key_size": -8,
                       "kdf": {"type": 7, "time": "x", "memory": 1e300}}},
    "segments": {"0": {"type": "crypt", "encryption": ["aes"]}}})"));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->cipher(), "");
  EXPECT_EQ(header->key_bits(), 0u);
  ASSERT_EQ(header->keyslots_size(), 1);
  EXPECT_EQ(header->keyslots(0).kdf(), v1::KDF_TYPE_UNSPECIFIED);
}

TEST(CryptParamsTest, KeyringKeyGivesItsSizeOnly) {
  absl::StatusOr<CryptTarget> target = ParseCryptParams(
      "aes-xts-plain64 :64:logon:cryptsetup:0c1d-d0 0 253:1 32768 1 "
      "allow_discards");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->cipher, "aes-xts-plain64");
  EXPECT_EQ(target->key_bits, 512u);
  EXPECT_EQ(target->device, "253:1");
}

TEST(CryptParamsTest, HexKeyGivesItsLengthAndIsNotKept) {
  const std::string key(64, 'f');
  absl::StatusOr<CryptTarget> target =
      ParseCryptParams("capi:cbc(aes)-essiv:sha256 " + key + " 0 8:2 0");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->cipher, "capi:cbc(aes)-essiv:sha256");
  EXPECT_EQ(target->key_bits, 256u);
  EXPECT_EQ(target->cipher.find(key), std::string::npos);
  EXPECT_EQ(target->device.find(key), std::string::npos);
}

TEST(CryptParamsTest, NullCipherHasNoKey) {
  absl::StatusOr<CryptTarget> target =
      ParseCryptParams("cipher_null-ecb - 0 8:2 0");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->key_bits, 0u);
}

TEST(CryptParamsTest, RefusesMalformedLines) {
  for (const char* params :
       {"", "aes-xts-plain64", "aes-xts-plain64 abc 0 8:2 0",
        "aes-xts-plain64 :64 0 8:2 0", "aes-xts-plain64 :x:logon:k 0 8:2 0",
        "aes-xts-plain64 :99999999:logon:k 0 8:2 0",
        "aes-xts-plain64 zz 0 8:2 0"}) {
    EXPECT_FALSE(ParseCryptParams(params).ok()) << params;
  }
}

TEST(TableRequestTest, AsksForTheTableAndForTheKernelToWipeItsCopy) {
  std::vector<char> buffer(16384, 0);
  PrepareTableRequest("cryptroot", buffer.data(), buffer.size());
  struct dm_ioctl io;
  std::memcpy(&io, buffer.data(), sizeof(io));
  EXPECT_EQ(io.version[0], static_cast<uint32_t>(DM_VERSION_MAJOR));
  EXPECT_EQ(io.data_size, 16384u);
  EXPECT_EQ(io.data_start, sizeof(struct dm_ioctl));
  EXPECT_TRUE(io.flags & DM_STATUS_TABLE_FLAG);
  // The reply holds the key in hex: the kernel must wipe its own copy.
  EXPECT_TRUE(io.flags & DM_SECURE_DATA_FLAG);
  EXPECT_STREQ(io.name, "cryptroot");
}

// A DM_TABLE_STATUS reply as drivers/md/dm-ioctl.c retrieve_status writes
// it: specs from data_start, 8-byte aligned, each `next` counted from
// data_start (not from the spec itself).
class TableReply {
 public:
  TableReply() : bytes_(sizeof(struct dm_ioctl), '\0') {}

  void Add(const char* type, const std::string& params) {
    struct dm_target_spec spec;
    std::memset(&spec, 0, sizeof(spec));
    std::strncpy(spec.target_type, type, sizeof(spec.target_type) - 1);
    const size_t at = bytes_.size();
    std::string record(sizeof(spec), '\0');
    record += params;
    record.push_back('\0');
    record.resize((record.size() + 7) / 8 * 8, '\0');
    spec.next = static_cast<uint32_t>(at + record.size() - Start());
    std::memcpy(record.data(), &spec, sizeof(spec));
    bytes_ += record;
    ++count_;
  }
  // Sets the next of the target spec at `index` (counted from data_start).
  void SetNext(size_t spec_offset, uint32_t next) {
    struct dm_target_spec spec;
    std::memcpy(&spec, bytes_.data() + Start() + spec_offset, sizeof(spec));
    spec.next = next;
    std::memcpy(bytes_.data() + Start() + spec_offset, &spec, sizeof(spec));
  }
  std::string Build(uint32_t target_count = 0, size_t data_size = 0) const {
    std::string out = bytes_;
    struct dm_ioctl io;
    std::memset(&io, 0, sizeof(io));
    io.data_start = static_cast<uint32_t>(Start());
    io.data_size = static_cast<uint32_t>(data_size ? data_size : out.size());
    io.target_count = target_count ? target_count : count_;
    std::memcpy(out.data(), &io, sizeof(io));
    return out;
  }

 private:
  static size_t Start() { return sizeof(struct dm_ioctl); }
  std::string bytes_;
  uint32_t count_ = 0;
};

TEST(TableReplyTest, WalksSpecsWithNextCountedFromDataStart) {
  TableReply reply;
  reply.Add("linear", "8:2 0");
  reply.Add("crypt", "aes-xts-plain64 " + std::string(128, 'a') +
                         " 0 8:3 4096 1 allow_discards");
  reply.Add("crypt", "serpent-cbc-essiv:sha256 :32:logon:k 0 8:4 0");
  absl::StatusOr<std::vector<CryptTarget>> targets =
      ParseTableReply(reply.Build());
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ(targets->at(0).cipher, "aes-xts-plain64");
  EXPECT_EQ(targets->at(0).key_bits, 512u);
  EXPECT_EQ(targets->at(0).device, "8:3");
  EXPECT_EQ(targets->at(1).cipher, "serpent-cbc-essiv:sha256");
  EXPECT_EQ(targets->at(1).key_bits, 256u);
}

TEST(TableReplyTest, HostileRepliesAreErrorsNotReadsOutside) {
  EXPECT_FALSE(ParseTableReply("").ok());
  EXPECT_FALSE(ParseTableReply(std::string(10, '\xff')).ok());
  TableReply reply;
  reply.Add("crypt", "aes-xts-plain64 - 0 8:3 0");
  reply.Add("crypt", "aes-xts-plain64 - 0 8:4 0");
  // More targets announced than present: the walk runs off the data.
  EXPECT_EQ(ParseTableReply(reply.Build(1u << 30)).status().code(),
            absl::StatusCode::kDataLoss);
  // data_size shorter than the specs.
  EXPECT_EQ(ParseTableReply(reply.Build(0, sizeof(struct dm_ioctl) + 8))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  // A `next` pointing back stops the walk instead of looping.
  TableReply loop = reply;
  loop.SetNext(0, 0);
  absl::StatusOr<std::vector<CryptTarget>> once =
      ParseTableReply(loop.Build(1000));
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ(once->size(), 1u);
  // A `next` far past the end.
  TableReply far = reply;
  far.SetNext(0, 0xfffffff0u);
  EXPECT_EQ(ParseTableReply(far.Build()).status().code(),
            absl::StatusCode::kDataLoss);
  // Parameters running to the very end without their terminating NUL are
  // cut there.
  std::string unterminated = reply.Build();
  unterminated.replace(unterminated.size() - 8, 8, "xxxxxxxx");
  absl::StatusOr<std::vector<CryptTarget>> cut = ParseTableReply(unterminated);
  ASSERT_TRUE(cut.ok()) << cut.status();
  ASSERT_EQ(cut->size(), 2u);
  EXPECT_EQ(cut->at(1).device, "8:4");
}

TEST(FakeDeviceMapperTest, UnknownNameIsNotFound) {
  FakeDeviceMapper mapper(std::map<std::string, std::vector<std::string>>{
      {"a", {"aes-xts-plain64 :32:logon:k 0 8:2 0"}}});
  EXPECT_EQ(mapper.CryptTargets("b").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(mapper.CryptTargets("a")->at(0).key_bits, 256u);
}

}  // namespace
}  // namespace evidentia::agent
