#include "util/store_list.h"

#include <cctype>

namespace coss {

bool ParseByteSize(std::string_view s, uint64_t* out) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
    i++;
  }
  if (i == 0) return false;
  std::string suffix;
  for (char c : s.substr(i))
    suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int shift = 0;
  if (!suffix.empty() && suffix != "b") {
    const std::string rest = suffix.substr(1);
    if (!(rest.empty() || rest == "b" || rest == "ib")) return false;
    switch (suffix[0]) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      case 't':
        shift = 40;
        break;
      default:
        return false;
    }
  }
  if (shift != 0 && n > (UINT64_MAX >> shift)) return false;
  *out = n << shift;
  return true;
}

bool ParseStoreList(std::string_view s, std::vector<DeviceSpec>* out, std::string* err) {
  out->clear();
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    const std::string_view item = s.substr(start, comma - start);
    DeviceSpec d;
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos) {
      d.path = std::string(item);
    } else {
      d.path = std::string(item.substr(0, colon));
      if (!ParseByteSize(item.substr(colon + 1), &d.size) || d.size == 0) {
        *err = "bad store item '" + std::string(item) +
               "': expected PATH or PATH:SIZE with SIZE like 64m or 1g";
        return false;
      }
    }
    if (d.path.empty()) {
      *err = "bad store item '" + std::string(item) + "': empty PATH";
      return false;
    }
    out->push_back(std::move(d));
    start = comma + 1;
  }
  return true;
}

}  // namespace coss
