// RamItem: how one object is laid out in a RAM-tier segment. Byte-packed, no
// alignment, no per-item pointers: everything about an object that the index
// slot does not hold is here, in 5-7 bytes for a typical small object.
//
//   u8      key length (1..250)
//   varint  value length
//   u8      presence bits: 1 = flags follow, 2 = expiry follows
//   varint  flags             (only when nonzero)
//   varint  expiry, unix s    (only when nonzero)
//   varint  version - segment base, zigzag (versions written together are close)
//   key bytes, value bytes
//
// Whether an item is live is not recorded here: it is live while an index slot
// points at it (see ram_index.h). Pure functions; no locking.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace coss::server::ram_item {

inline uint32_t VarintSize(uint64_t v) {
  uint32_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline const char* GetVarint(const char* p, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(*p++);
    r |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) break;
  }
  *v = r;
  return p;
}

inline uint64_t ZigZag(uint64_t version, uint64_t base) {
  const auto d = static_cast<int64_t>(version - base);
  return (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
}

inline uint64_t UnZigZag(uint64_t z, uint64_t base) {
  const auto d = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
  return base + static_cast<uint64_t>(d);
}

struct Fields {
  std::string_view key;
  std::string_view value;
  uint32_t flags = 0;
  int64_t expiry = 0;  // 0: never
  uint64_t version = 0;
};

// Bytes the item takes in a segment whose base version is `base`.
inline uint32_t Size(const Fields& f, uint64_t base) {
  uint32_t n = 1 + VarintSize(f.value.size()) + 1 + VarintSize(ZigZag(f.version, base));
  if (f.flags != 0) n += VarintSize(f.flags);
  if (f.expiry != 0) n += VarintSize(static_cast<uint64_t>(f.expiry));
  return n + static_cast<uint32_t>(f.key.size() + f.value.size());
}

// Writes the item at dst (Size(f, base) bytes).
inline void Encode(char* dst, const Fields& f, uint64_t base) {
  char* p = dst;
  *p++ = static_cast<char>(f.key.size());
  p = PutVarint(p, f.value.size());
  *p++ = static_cast<char>((f.flags != 0 ? 1 : 0) | (f.expiry != 0 ? 2 : 0));
  if (f.flags != 0) p = PutVarint(p, f.flags);
  if (f.expiry != 0) p = PutVarint(p, static_cast<uint64_t>(f.expiry));
  p = PutVarint(p, ZigZag(f.version, base));
  std::memcpy(p, f.key.data(), f.key.size());
  // An empty value may have no data pointer at all (memcpy from null is UB).
  if (!f.value.empty()) std::memcpy(p + f.key.size(), f.value.data(), f.value.size());
}

// Reads the item at src; returns its size in bytes.
inline uint32_t Decode(const char* src, uint64_t base, Fields* f) {
  const char* p = src;
  const auto klen = static_cast<uint8_t>(*p++);
  uint64_t vlen, x;
  p = GetVarint(p, &vlen);
  const auto present = static_cast<uint8_t>(*p++);
  f->flags = 0;
  f->expiry = 0;
  if (present & 1) {
    p = GetVarint(p, &x);
    f->flags = static_cast<uint32_t>(x);
  }
  if (present & 2) {
    p = GetVarint(p, &x);
    f->expiry = static_cast<int64_t>(x);
  }
  p = GetVarint(p, &x);
  f->version = UnZigZag(x, base);
  f->key = std::string_view(p, klen);
  f->value = std::string_view(p + klen, vlen);
  return static_cast<uint32_t>(p + klen + vlen - src);
}

}  // namespace coss::server::ram_item
