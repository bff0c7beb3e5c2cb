#include "agent/linux/probes/screen_lock_gvdb.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"

namespace evidentia::agent {
namespace {

constexpr int kMaxTypeDepth = 64;
constexpr size_t kMaxKeyNameBytes = 64 << 10;
// dconf paths are a few levels deep; a longer parent chain is hostile.
constexpr uint32_t kMaxNameDepth = 256;

uint32_t LoadLe32(std::string_view bytes, size_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < 4) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint32_t LoadBe32(std::string_view bytes, size_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < 4) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return static_cast<uint32_t>(p[3]) | static_cast<uint32_t>(p[2]) << 8 |
         static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[0]) << 24;
}

uint16_t LoadLe16(std::string_view bytes, size_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < 2) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

bool IsBasicTypeChar(char c) {
  return std::string_view("bynqiuxthdsog").find(c) != std::string_view::npos;
}

// g_variant_type_string_scan for definite types: advances *pos past one
// complete type of `types`.
bool ScanType(std::string_view types, size_t* pos, int depth) {
  if (depth > kMaxTypeDepth || *pos >= types.size()) return false;
  char c = types[(*pos)++];
  if (IsBasicTypeChar(c) || c == 'v') return true;
  if (c == 'a' || c == 'm') return ScanType(types, pos, depth + 1);
  if (c == '(') {
    while (*pos < types.size() && types[*pos] != ')') {
      if (!ScanType(types, pos, depth + 1)) return false;
    }
    if (*pos >= types.size()) return false;
    ++*pos;
    return true;
  }
  if (c == '{') {
    if (*pos >= types.size() || !IsBasicTypeChar(types[*pos])) return false;
    ++*pos;
    if (!ScanType(types, pos, depth + 1)) return false;
    if (*pos >= types.size() || types[*pos] != '}') return false;
    ++*pos;
    return true;
  }
  return false;
}

}  // namespace

uint32_t GvdbHash(std::string_view key) {
  uint32_t hash = 5381;
  for (char c : key) {
    hash = hash * 33 + static_cast<uint32_t>(static_cast<signed char>(c));
  }
  return hash;
}

bool DconfValue::operator==(const DconfValue& other) const {
  return type == other.type && boolean == other.boolean &&
         uint32 == other.uint32 && int32 == other.int32 &&
         string == other.string;
}

DconfValue DecodeGVariantVariant(std::string_view cell, bool big_endian) {
  DconfValue value;
  value.type = "()";
  if (cell.empty()) return value;
  size_t separator = cell.size() - 1;
  while (separator > 0 && cell[separator] != '\0') --separator;
  if (cell[separator] != '\0') return value;
  std::string_view type = cell.substr(separator + 1);
  size_t pos = 0;
  if (!ScanType(type, &pos, 0) || pos != type.size()) return value;
  std::string_view data = cell.substr(0, separator);

  value.type = std::string(type);
  if (type == "b") {
    value.boolean = data.size() == 1 && data[0] != '\0';
  } else if (type == "u" || type == "i") {
    uint32_t raw = 0;
    if (data.size() == 4) {
      raw = big_endian ? LoadBe32(data, 0) : LoadLe32(data, 0);
    }
    if (type == "u") {
      value.uint32 = raw;
    } else {
      value.int32 = static_cast<int32_t>(raw);
    }
  } else if (type == "s") {
    // Normal form: the bytes, one terminating zero, no zero inside.
    bool normal = !data.empty() && data.back() == '\0' &&
                  data.find('\0') == data.size() - 1;
    value.string = normal ? std::string(data.substr(0, data.size() - 1)) : "";
  }
  return value;
}

absl::StatusOr<GvdbTable> GvdbTable::Open(std::string_view file) {
  if (file.size() < kGvdbHeaderBytes) {
    return absl::InvalidArgumentError("GVDB file shorter than its header");
  }
  std::string_view signature = file.substr(0, 8);
  bool big_endian;
  if (signature == kGvdbSignature) {
    big_endian = false;
  } else if (signature == kGvdbSwappedSignature) {
    big_endian = true;
  } else {
    return absl::InvalidArgumentError("not a GVDB file (bad signature)");
  }
  if (LoadLe32(file, 8) != 0) {
    return absl::InvalidArgumentError("unsupported GVDB version");
  }
  GvdbTable table(file, big_endian);
  if (!table.SetUpTable(LoadLe32(file, 16), LoadLe32(file, 20))) {
    return absl::InvalidArgumentError(
        "GVDB root hash table does not fit the file");
  }
  return table;
}

bool GvdbTable::SetUpTable(uint32_t start, uint32_t end) {
  if (start > end || end > file_.size() || start % 4 != 0) return false;
  uint64_t size = end - start;
  if (size < kGvdbHashHeaderBytes) return false;
  size -= kGvdbHashHeaderBytes;
  uint32_t bloom_word = LoadLe32(file_, start);
  uint32_t n_bloom_words = bloom_word & ((1u << 27) - 1);
  uint32_t n_buckets = LoadLe32(file_, start + 4);
  if (uint64_t{n_bloom_words} * 4 > size) return false;
  size -= uint64_t{n_bloom_words} * 4;
  if (uint64_t{n_buckets} * 4 > size) return false;
  size -= uint64_t{n_buckets} * 4;
  if (size % kGvdbHashItemBytes != 0) return false;
  n_bloom_words_ = n_bloom_words;
  bloom_shift_ = bloom_word >> 27;
  bloom_offset_ = start + kGvdbHashHeaderBytes;
  n_buckets_ = n_buckets;
  buckets_offset_ = bloom_offset_ + size_t{n_bloom_words} * 4;
  items_offset_ = buckets_offset_ + size_t{n_buckets} * 4;
  n_items_ = static_cast<uint32_t>(size / kGvdbHashItemBytes);
  return true;
}

uint32_t GvdbTable::ItemWord(uint32_t item, size_t offset) const {
  return LoadLe32(file_,
                  items_offset_ + size_t{item} * kGvdbHashItemBytes + offset);
}

std::string_view GvdbTable::ItemKey(uint32_t item) const {
  uint64_t start = ItemWord(item, 8);
  uint64_t size =
      LoadLe16(file_, items_offset_ + size_t{item} * kGvdbHashItemBytes + 12);
  if (start + size > file_.size()) return {};
  return file_.substr(start, size);
}

bool GvdbTable::CheckName(uint32_t item, std::string_view key) const {
  size_t remaining = key.size();
  while (true) {
    uint64_t start = ItemWord(item, 8);
    uint64_t size =
        LoadLe16(file_, items_offset_ + size_t{item} * kGvdbHashItemBytes + 12);
    if (start + size > file_.size() || size > remaining) return false;
    remaining -= size;
    if (file_.compare(start, size, key.substr(remaining, size)) != 0) {
      return false;
    }
    uint32_t parent = ItemWord(item, 4);
    if (remaining == 0 && parent == kGvdbNoParent) return true;
    // Every step consumes at least one byte of `key`, so this ends.
    if (parent >= n_items_ || size == 0) return false;
    item = parent;
  }
}

std::optional<uint32_t> GvdbTable::Find(std::string_view key, char type) const {
  if (n_buckets_ == 0 || n_items_ == 0) return std::nullopt;
  uint32_t hash = GvdbHash(key);
  if (n_bloom_words_ != 0) {
    uint32_t word = (hash / 32) % n_bloom_words_;
    uint32_t mask = (1u << (hash & 31)) | (1u << ((hash >> bloom_shift_) & 31));
    if ((LoadLe32(file_, bloom_offset_ + size_t{word} * 4) & mask) != mask) {
      return std::nullopt;
    }
  }
  uint32_t bucket = hash % n_buckets_;
  uint32_t item = LoadLe32(file_, buckets_offset_ + size_t{bucket} * 4);
  uint32_t last = n_items_;
  if (bucket != n_buckets_ - 1) {
    last = LoadLe32(file_, buckets_offset_ + size_t{bucket + 1} * 4);
    if (last > n_items_) last = n_items_;
  }
  for (; item < last; ++item) {
    if (ItemWord(item, 0) != hash) continue;
    if (!CheckName(item, key)) continue;
    size_t type_offset = items_offset_ + size_t{item} * kGvdbHashItemBytes + 14;
    if (file_[type_offset] == type) return item;
  }
  return std::nullopt;
}

std::optional<DconfValue> GvdbTable::Lookup(std::string_view key) const {
  std::optional<uint32_t> item = Find(key, 'v');
  if (!item) return std::nullopt;
  uint32_t start = ItemWord(*item, 16);
  uint32_t end = ItemWord(*item, 20);
  if (start > end || end > file_.size() || start % 8 != 0) return std::nullopt;
  return DecodeGVariantVariant(file_.substr(start, end - start), big_endian_);
}

bool GvdbTable::HasValue(std::string_view key) const {
  return Find(key, 'v').has_value();
}

std::optional<GvdbTable> GvdbTable::Subtable(std::string_view key) const {
  std::optional<uint32_t> item = Find(key, 'H');
  if (!item) return std::nullopt;
  GvdbTable table(file_, big_endian_);
  if (!table.SetUpTable(ItemWord(*item, 16), ItemWord(*item, 20))) {
    return std::nullopt;
  }
  return table;
}

std::optional<std::string> GvdbTable::FullName(uint32_t item) const {
  std::vector<std::string_view> pieces;
  size_t total = 0;
  for (uint32_t steps = 0; steps < kMaxNameDepth; ++steps) {
    std::string_view piece = ItemKey(item);
    total += piece.size();
    if (total > kMaxKeyNameBytes) return std::nullopt;
    pieces.push_back(piece);
    uint32_t parent = ItemWord(item, 4);
    if (parent == kGvdbNoParent) {
      std::string name;
      name.reserve(total);
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        name.append(*it);
      }
      return name;
    }
    if (parent >= n_items_) return std::nullopt;
    item = parent;
  }
  return std::nullopt;  // a cycle, or deeper than any dconf path
}

std::vector<std::string> GvdbTable::ValueKeys(size_t max_keys) const {
  std::vector<std::string> keys;
  for (uint32_t item = 0; item < n_items_ && keys.size() < max_keys; ++item) {
    size_t type_offset = items_offset_ + size_t{item} * kGvdbHashItemBytes + 14;
    if (file_[type_offset] != 'v') continue;
    std::optional<std::string> name = FullName(item);
    if (name) keys.push_back(std::move(*name));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace evidentia::agent
