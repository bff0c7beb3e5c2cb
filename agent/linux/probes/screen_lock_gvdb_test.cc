// GvdbTable on files built byte by byte from the format (gvdb-format.h), and
// on a database written by the real dconf (tests/fixtures/screen_lock/
// real_dconf/local, made by `dconf compile`).
#include "agent/linux/probes/screen_lock_gvdb.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace evidentia::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Le32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}
std::string Be32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[3 - i] = static_cast<char>(v >> (8 * i));
  return out;
}
std::string Le16(uint16_t v) {
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8)};
}
void PutLe32(std::string* s, size_t at, uint32_t v) {
  s->replace(at, 4, Le32(v));
}

// A serialised 'v' cell: the child's bytes, a zero byte, its type string.
std::string Cell(const std::string& data, const std::string& type) {
  return data + std::string(1, '\0') + type;
}
std::string BoolCell(bool b) { return Cell(std::string(1, b ? 1 : 0), "b"); }
std::string U32Cell(uint32_t v, bool big_endian = false) {
  return Cell(big_endian ? Be32(v) : Le32(v), "u");
}

// One item of a test table. `segment` is the item's own piece of the name
// (the whole name when `parent` is -1); `name` the full name it is hashed by.
struct TestItem {
  std::string name;
  std::string segment;
  int parent = -1;  // index into the builder's items
  char type = 'v';
  std::string cell;  // for 'v'
};

// Builds a GVDB file with one hash table, as gvdb-builder lays it out:
// header, hash table (header, bloom words, buckets, items sorted by
// bucket), then key names, then 8-aligned values.
struct GvdbBuilder {
  std::vector<TestItem> items;
  bool big_endian = false;
  uint32_t n_buckets = 0;  // 0: one per item
  uint32_t n_bloom_words = 0;
  uint32_t bloom_shift = 5;

  int Add(std::string name, std::string cell) {
    items.push_back({name, name, -1, 'v', std::move(cell)});
    return static_cast<int>(items.size()) - 1;
  }
  // dconf's nesting: "/" <- "org/" <- "gnome/" ... each a list ('L') item.
  int AddNested(const std::string& full, std::string cell) {
    int parent = -1;
    std::string prefix;
    size_t pos = 0;
    while (true) {
      size_t slash = full.find('/', pos);
      bool last = slash == std::string::npos;
      std::string segment =
          last ? full.substr(pos) : full.substr(pos, slash - pos + 1);
      prefix += segment;
      int found = -1;
      for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].name == prefix) found = static_cast<int>(i);
      }
      if (found < 0) {
        items.push_back({prefix, segment, parent, last ? 'v' : 'L',
                         last ? cell : std::string()});
        found = static_cast<int>(items.size()) - 1;
      }
      parent = found;
      if (last) return found;
      pos = slash + 1;
    }
  }

  std::string Build() const {
    uint32_t buckets =
        n_buckets ? n_buckets : std::max<uint32_t>(1, items.size());
    // Order items by bucket (stable), remapping parents.
    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return GvdbHash(items[a].name) % buckets <
             GvdbHash(items[b].name) % buckets;
    });
    std::vector<uint32_t> new_index(items.size());
    for (size_t i = 0; i < order.size(); ++i) new_index[order[i]] = i;

    const size_t table_start = kGvdbHeaderBytes;
    const size_t table_end = table_start + kGvdbHashHeaderBytes +
                             4 * n_bloom_words + 4 * buckets +
                             kGvdbHashItemBytes * items.size();
    std::string keys;
    std::vector<uint32_t> key_start(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      key_start[i] = table_end + keys.size();
      keys += items[i].segment;
    }
    std::string file;
    file += big_endian ? std::string(kGvdbSwappedSignature)
                       : std::string(kGvdbSignature);
    file += Le32(0) + Le32(0) + Le32(table_start) + Le32(table_end);
    file += Le32(n_bloom_words | bloom_shift << 27) + Le32(buckets);
    std::vector<uint32_t> bloom(n_bloom_words, 0);
    for (const TestItem& item : items) {
      if (n_bloom_words == 0) break;
      uint32_t h = GvdbHash(item.name);
      bloom[(h / 32) % n_bloom_words] |=
          (1u << (h & 31)) | (1u << ((h >> bloom_shift) & 31));
    }
    for (uint32_t word : bloom) file += Le32(word);
    for (uint32_t b = 0; b < buckets; ++b) {
      uint32_t first = 0;
      while (first < order.size() &&
             GvdbHash(items[order[first]].name) % buckets < b) {
        ++first;
      }
      file += Le32(first);
    }
    // Values after the keys, 8-aligned.
    std::string values;
    size_t values_start = (table_end + keys.size() + 7) / 8 * 8;
    std::vector<std::pair<uint32_t, uint32_t>> value_at(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].type != 'v') continue;
      while ((values_start + values.size()) % 8) values.push_back('\0');
      uint32_t start = values_start + values.size();
      values += items[i].cell;
      value_at[i] = {start,
                     static_cast<uint32_t>(start + items[i].cell.size())};
    }
    for (size_t i : order) {
      const TestItem& item = items[i];
      file += Le32(GvdbHash(item.name));
      file += Le32(item.parent < 0 ? kGvdbNoParent : new_index[item.parent]);
      file += Le32(key_start[i]) + Le16(item.segment.size());
      file.push_back(item.type);
      file.push_back('\0');
      file += Le32(value_at[i].first) + Le32(value_at[i].second);
    }
    file += keys;
    file.resize(values_start, '\0');
    file += values;
    return file;
  }
};

const std::string kIdle = "/org/gnome/desktop/session/idle-delay";
const std::string kLock = "/org/gnome/desktop/screensaver/lock-enabled";

GvdbTable MustOpen(const std::string& file) {
  absl::StatusOr<GvdbTable> table = GvdbTable::Open(file);
  EXPECT_TRUE(table.ok()) << table.status();
  if (!table.ok()) return *GvdbTable::Open(GvdbBuilder().Build());
  return *table;
}

// --- Values ----------------------------------------------------------------

TEST(GvdbTableTest, ReadsFlatBooleanAndUint32) {
  GvdbBuilder b;
  b.Add(kLock, BoolCell(false));
  b.Add(kIdle, U32Cell(900));
  std::string file = b.Build();
  GvdbTable table = MustOpen(file);
  std::optional<DconfValue> lock = table.Lookup(kLock);
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->type, "b");
  EXPECT_EQ(lock->boolean, false);
  std::optional<DconfValue> idle = table.Lookup(kIdle);
  ASSERT_TRUE(idle.has_value());
  EXPECT_EQ(idle->type, "u");
  EXPECT_EQ(idle->uint32, 900u);
  EXPECT_FALSE(table.Lookup("/org/gnome/desktop/session/other").has_value());
  EXPECT_THAT(table.ValueKeys(), ElementsAre(kLock, kIdle));  // sorted
}

TEST(GvdbTableTest, ReadsNestedNamesAsDconfWritesThem) {
  GvdbBuilder b;
  b.AddNested(kLock, BoolCell(true));
  b.AddNested(kIdle, U32Cell(0));
  std::string file = b.Build();
  GvdbTable table = MustOpen(file);
  EXPECT_EQ(table.Lookup(kLock)->boolean, true);
  EXPECT_EQ(table.Lookup(kIdle)->uint32, 0u);
  // A directory is an 'L' item, not a value.
  EXPECT_FALSE(table.HasValue("/org/gnome/"));
  EXPECT_THAT(table.ValueKeys(), ElementsAre(kLock, kIdle));  // sorted
}

TEST(GvdbTableTest, ReadsBigEndianFileValuesSwapped) {
  GvdbBuilder b;
  b.big_endian = true;
  b.Add(kIdle, U32Cell(1800, /*big_endian=*/true));
  std::string file = b.Build();
  GvdbTable table = MustOpen(file);
  EXPECT_TRUE(table.big_endian());
  EXPECT_EQ(table.Lookup(kIdle)->uint32, 1800u);
}

TEST(GvdbTableTest, LittleEndianValueUnderSwappedSignatureReadsSwapped) {
  // What dconf does too: the signature decides the byte order.
  GvdbBuilder b;
  b.big_endian = true;
  b.Add(kIdle, U32Cell(300));
  std::string file = b.Build();
  EXPECT_EQ(MustOpen(file).Lookup(kIdle)->uint32, 0x2c010000u);
}

TEST(GvdbTableTest, HonoursBloomFilter) {
  GvdbBuilder b;
  b.n_bloom_words = 4;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  EXPECT_EQ(MustOpen(file).Lookup(kIdle)->uint32, 60u);
  // Clear the bloom words: dconf no longer finds the key, nor do we.
  for (size_t i = 0; i < 16; ++i) file[kGvdbHeaderBytes + 8 + i] = '\0';
  EXPECT_FALSE(MustOpen(file).Lookup(kIdle).has_value());
}

TEST(GvdbTableTest, ManyKeysInFewBuckets) {
  GvdbBuilder b;
  b.n_buckets = 3;
  for (int i = 0; i < 40; ++i) {
    b.Add("/k/" + std::to_string(i), U32Cell(i));
  }
  std::string file = b.Build();
  GvdbTable table = MustOpen(file);
  for (int i = 0; i < 40; ++i) {
    std::optional<DconfValue> v = table.Lookup("/k/" + std::to_string(i));
    ASSERT_TRUE(v.has_value()) << i;
    EXPECT_EQ(v->uint32, static_cast<uint32_t>(i));
  }
}

TEST(GvdbTableTest, KeyOutsideItsBucketIsNotFound) {
  GvdbBuilder b;
  b.n_buckets = 1;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  // Point the only bucket past the only item.
  PutLe32(&file, kGvdbHeaderBytes + 8, 1);
  EXPECT_FALSE(MustOpen(file).Lookup(kIdle).has_value());
}

TEST(GvdbTableTest, WrongHashIsNotFound) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  const size_t item = kGvdbHeaderBytes + 8 + 4;
  PutLe32(&file, item, GvdbHash(kIdle) + 1);
  EXPECT_FALSE(MustOpen(file).Lookup(kIdle).has_value());
}

TEST(GvdbTableTest, ListItemIsNotAValue) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  b.items[0].type = 'L';
  EXPECT_FALSE(MustOpen(b.Build()).Lookup(kIdle).has_value());
}

TEST(GvdbTableTest, ReadsNestedTableAsDconfLocks) {
  // dconf's ".locks" is an 'H' item pointing to a second hash table; build
  // one by placing a table's bytes after the outer file.
  GvdbBuilder locks;
  locks.Add(kIdle, Cell(std::string(1, '\0'), "s"));
  std::string inner = locks.Build();

  GvdbBuilder outer;
  outer.Add(kIdle, U32Cell(300));
  outer.Add(".locks", "");
  outer.items[1].type = 'H';
  std::string file = outer.Build();
  while (file.size() % 8) file.push_back('\0');
  const uint32_t base = file.size();
  // Relocate the inner table: its offsets are file-relative.
  std::string table = inner.substr(kGvdbHeaderBytes);
  const uint32_t inner_table_start = kGvdbHeaderBytes;
  const uint32_t delta = base - inner_table_start;
  // Item: key_start (offset 8) and value pointer (16, 20) move by delta.
  const size_t item_at = 8 + 4;  // after hash header and one bucket
  for (size_t field : {8u, 16u, 20u}) {
    uint32_t v;
    std::memcpy(&v, table.data() + item_at + field, 4);
    PutLe32(&table, item_at + field, v + delta);
  }
  file += table;
  // Point the 'H' item at the table.
  for (size_t i = 0; i < 2; ++i) {
    size_t at = kGvdbHeaderBytes + 8 + 4 * 2 + i * kGvdbHashItemBytes;
    if (file[at + 14] == 'H') {
      PutLe32(&file, at + 16, base);
      uint32_t inner_end;
      std::memcpy(&inner_end, inner.data() + 20, 4);
      PutLe32(&file, at + 20, base + inner_end - inner_table_start);
    }
  }
  GvdbTable opened = MustOpen(file);
  std::optional<GvdbTable> sub = opened.Subtable(".locks");
  ASSERT_TRUE(sub.has_value());
  EXPECT_TRUE(sub->HasValue(kIdle));
  EXPECT_FALSE(sub->HasValue(kLock));
  EXPECT_FALSE(opened.Subtable(kIdle).has_value());  // a value, not a table
}

// --- Malformed and hostile files ------------------------------------------

TEST(GvdbTableTest, RejectsShortFile) {
  EXPECT_FALSE(GvdbTable::Open("").ok());
  EXPECT_FALSE(GvdbTable::Open("GVariant").ok());
}

TEST(GvdbTableTest, RejectsBadSignatureAndVersion) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  std::string bad = file;
  bad[0] = 'g';
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
  bad = file;
  PutLe32(&bad, 8, 1);
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
}

TEST(GvdbTableTest, RejectsRootTableOutsideFile) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  std::string bad = file;
  PutLe32(&bad, 20, 0x7fffffff);  // end beyond the file
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
  bad = file;
  PutLe32(&bad, 16, 0xffffffff);  // start after end
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
  bad = file;
  PutLe32(&bad, 16, 26);  // misaligned
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
}

TEST(GvdbTableTest, RejectsHugeBucketAndBloomCounts) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  std::string bad = file;
  PutLe32(&bad, kGvdbHeaderBytes + 4, 0xffffffff);  // n_buckets
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
  bad = file;
  PutLe32(&bad, kGvdbHeaderBytes, (1u << 27) - 1);  // n_bloom_words
  EXPECT_FALSE(GvdbTable::Open(bad).ok());
}

TEST(GvdbTableTest, RejectsItemsNotAWholeNumber) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  PutLe32(&file, 20, 24 + 8 + 4 + 20);  // table end mid-item
  EXPECT_FALSE(GvdbTable::Open(file).ok());
}

TEST(GvdbTableTest, HostileKeyAndValueOffsetsAreNotFollowed) {
  GvdbBuilder b;
  b.Add(kIdle, U32Cell(60));
  std::string file = b.Build();
  const size_t item = kGvdbHeaderBytes + 8 + 4;
  std::string bad = file;
  PutLe32(&bad, item + 8, 0xfffffff0);  // key_start
  EXPECT_FALSE(MustOpen(bad).Lookup(kIdle).has_value());
  EXPECT_THAT(MustOpen(bad).ValueKeys(), ElementsAre(""));
  bad = file;
  PutLe32(&bad, item + 20, 0xffffffff);  // value end
  EXPECT_FALSE(MustOpen(bad).Lookup(kIdle).has_value());
  bad = file;
  uint32_t start;
  std::memcpy(&start, bad.data() + item + 16, 4);
  PutLe32(&bad, item + 16, start + 1);  // misaligned value
  EXPECT_FALSE(MustOpen(bad).Lookup(kIdle).has_value());
}

TEST(GvdbTableTest, CyclicParentsTerminate) {
  GvdbBuilder b;
  b.AddNested(kIdle, U32Cell(60));
  std::string file = b.Build();
  // Make every item its own parent.
  const size_t n = b.items.size();
  const size_t items = kGvdbHeaderBytes + 8 + 4 * n;
  for (size_t i = 0; i < n; ++i) PutLe32(&file, items + i * 24 + 4, i);
  GvdbTable table = MustOpen(file);
  EXPECT_FALSE(table.Lookup(kIdle).has_value());
  EXPECT_THAT(table.ValueKeys(), IsEmpty());
}

TEST(GvdbTableTest, EveryTruncationIsSafe) {
  GvdbBuilder b;
  b.AddNested(kLock, BoolCell(false));
  b.AddNested(kIdle, U32Cell(600));
  std::string file = b.Build();
  for (size_t n = 0; n < file.size(); ++n) {
    const std::string prefix = file.substr(0, n);  // outlives the table
    absl::StatusOr<GvdbTable> table = GvdbTable::Open(prefix);
    if (!table.ok()) continue;
    table->Lookup(kIdle);
    table->Lookup(kLock);
    table->ValueKeys();
  }
}

TEST(GvdbTableTest, EverySingleByteCorruptionIsSafe) {
  GvdbBuilder b;
  b.n_bloom_words = 2;
  b.AddNested(kLock, BoolCell(false));
  b.AddNested(kIdle, U32Cell(600));
  const std::string file = b.Build();
  for (size_t i = 0; i < file.size(); ++i) {
    for (unsigned char v : {0x00, 0x7f, 0x80, 0xff}) {
      std::string bad = file;
      bad[i] = static_cast<char>(v);
      absl::StatusOr<GvdbTable> table = GvdbTable::Open(bad);
      if (!table.ok()) continue;
      table->Lookup(kIdle);
      table->Lookup(kLock);
      table->Subtable(".locks");
      table->ValueKeys();
    }
  }
}

// --- GVariant variant cells -------------------------------------------------

TEST(GVariantVariantTest, DecodesScalars) {
  EXPECT_EQ(DecodeGVariantVariant(BoolCell(true), false).boolean, true);
  EXPECT_EQ(DecodeGVariantVariant(U32Cell(7), false).uint32, 7u);
  EXPECT_EQ(DecodeGVariantVariant(Cell(Le32(0xfffffffe), "i"), false).int32,
            -2);
  DconfValue s =
      DecodeGVariantVariant(Cell(std::string("abc\0", 4), "s"), false);
  EXPECT_EQ(s.string, "abc");
}

TEST(GVariantVariantTest, NoSeparatorOrBadTypeIsUnit) {
  EXPECT_EQ(DecodeGVariantVariant("", false).type, "()");
  EXPECT_EQ(DecodeGVariantVariant("abc", false).type, "()");
  EXPECT_EQ(DecodeGVariantVariant(Cell("x", "z"), false).type, "()");
  EXPECT_EQ(DecodeGVariantVariant(Cell("x", "bb"), false).type, "()");
  EXPECT_EQ(DecodeGVariantVariant(Cell("x", "(i"), false).type, "()");
  EXPECT_EQ(DecodeGVariantVariant(Cell("x", "a{vs}"), false).type, "()");
  EXPECT_EQ(DecodeGVariantVariant(Cell("x", ""), false).type, "()");
  EXPECT_EQ(
      DecodeGVariantVariant(Cell("x", std::string(200, 'a') + "b"), false).type,
      "()");  // nested deeper than the scanner allows
}

TEST(GVariantVariantTest, KeepsContainerTypes) {
  EXPECT_EQ(DecodeGVariantVariant(Cell("", "as"), false).type, "as");
  EXPECT_EQ(DecodeGVariantVariant(Cell("", "a{sv}"), false).type, "a{sv}");
  EXPECT_EQ(DecodeGVariantVariant(Cell("", "(iu)"), false).type, "(iu)");
}

TEST(GVariantVariantTest, WrongSizedFixedValueIsZero) {
  EXPECT_EQ(DecodeGVariantVariant(Cell("", "b"), false).boolean, false);
  EXPECT_EQ(DecodeGVariantVariant(Cell("\x01\x02", "b"), false).boolean, false);
  EXPECT_EQ(DecodeGVariantVariant(Cell("abc", "u"), false).uint32, 0u);
  EXPECT_EQ(DecodeGVariantVariant(Cell("abcde", "u"), false).uint32, 0u);
}

TEST(GVariantVariantTest, NonNormalStringIsEmpty) {
  EXPECT_EQ(DecodeGVariantVariant(Cell("abc", "s"), false).string, "");
  EXPECT_EQ(
      DecodeGVariantVariant(Cell(std::string("a\0b\0", 4), "s"), false).string,
      "");
}

TEST(GVariantVariantTest, SeparatorIsTheLastZero) {
  // A child value with zero bytes inside: the type follows the last zero.
  DconfValue v = DecodeGVariantVariant(Cell(Le32(5), "u"), false);
  EXPECT_EQ(v.type, "u");
  EXPECT_EQ(v.uint32, 5u);
}

// --- A database written by the real dconf ----------------------------------

std::string ReadFixture(const std::string& relative) {
  std::ifstream in(std::string(EVIDENTIA_SOURCE_DIR) +
                       "/tests/fixtures/screen_lock/" + relative,
                   std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(GvdbTableTest, ReadsDatabaseCompiledByDconf) {
  const std::string file = ReadFixture("real_dconf/local");
  ASSERT_FALSE(file.empty());
  GvdbTable table = MustOpen(file);
  EXPECT_FALSE(table.big_endian());
  EXPECT_EQ(table.Lookup(kLock)->boolean, true);
  EXPECT_EQ(table.Lookup(kIdle)->uint32, 900u);
  EXPECT_EQ(table.Lookup("/org/gnome/desktop/screensaver/lock-delay")->uint32,
            5u);
  EXPECT_EQ(table.Lookup("/org/gnome/desktop/interface/cursor-size")->int32,
            24);
  EXPECT_EQ(
      table.Lookup("/org/gnome/desktop/interface/text-scaling-factor")->type,
      "d");
  EXPECT_EQ(table.Lookup("/org/gnome/shell/favorite-apps")->type, "as");
  EXPECT_EQ(table.Lookup("/org/gnome/desktop/screensaver/picture-uri")->string,
            "file:///usr/share/backgrounds/lock.png");
  std::optional<GvdbTable> locks = table.Subtable(".locks");
  ASSERT_TRUE(locks.has_value());
  EXPECT_THAT(locks->ValueKeys(), ElementsAre(kIdle));
}

}  // namespace
}  // namespace evidentia::agent
