#include "proto/base64.h"

#include <array>
#include <cstdint>

namespace coss::proto {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; i++) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kTable = MakeTable();
}  // namespace

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; j++) {
      const char c = in[i + j];
      if (c == '=') {
        if (!last || j < 2) return false;
        pad++;
        v[j] = 0;
        continue;
      }
      if (pad != 0) return false;  // data after padding
      v[j] = kTable[static_cast<uint8_t>(c)];
      if (v[j] < 0) return false;
    }
    const uint32_t n =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xFF));
  }
  return true;
}

void Base64Encode(std::string_view in, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                       uint32_t(uint8_t(in[i + 2]));
    out->push_back(kAlphabet[(n >> 18) & 63]);
    out->push_back(kAlphabet[(n >> 12) & 63]);
    out->push_back(kAlphabet[(n >> 6) & 63]);
    out->push_back(kAlphabet[n & 63]);
  }
  const size_t rest = in.size() - i;
  if (rest == 0) return;
  uint32_t n = uint32_t(uint8_t(in[i])) << 16;
  if (rest == 2) n |= uint32_t(uint8_t(in[i + 1])) << 8;
  out->push_back(kAlphabet[(n >> 18) & 63]);
  out->push_back(kAlphabet[(n >> 12) & 63]);
  out->push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
  out->push_back('=');
}

}  // namespace coss::proto
