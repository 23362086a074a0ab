#include "engine/location.h"

#include <algorithm>
#include <array>

namespace coss {

namespace {
constexpr uint64_t kUnit = 64;

constexpr std::array<uint64_t, 256> BuildTable() {
  std::array<uint64_t, 256> t{};
  for (int c = 0; c <= 64; c++) t[c] = uint64_t(c) * kUnit;
  for (int c = 65; c < 256; c++) {
    const int k = c - 65;
    const int e = k / 8 + 3;
    const uint64_t m = 8 + uint64_t(k % 8) + 1;  // 9..16 eighths of 2^(e+3) units
    t[c] = (m << e) * kUnit;
  }
  return t;
}
constexpr auto kTable = BuildTable();
static_assert(kTable[64] == 4096);
static_assert(kTable[65] > kTable[64]);
}  // namespace

uint8_t SizeClass::Encode(uint64_t bytes) {
  auto it = std::lower_bound(kTable.begin(), kTable.end(), bytes);
  if (it == kTable.end()) return 255;
  return static_cast<uint8_t>(it - kTable.begin());
}

uint64_t SizeClass::Decode(uint8_t code) {
  return kTable[code];
}

}  // namespace coss
