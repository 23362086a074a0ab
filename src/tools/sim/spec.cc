#include "tools/sim/spec.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace coss::sim {

std::vector<std::string> SplitList(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    const std::string part =
        s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

Spec ParseSpec(const std::string& s) {
  Spec sp;
  const size_t colon = s.find(':');
  sp.kind = s.substr(0, colon);
  if (colon == std::string::npos) return sp;
  sp.rest = s.substr(colon + 1);
  std::map<std::string, std::string> args;
  for (const std::string& part : SplitList(sp.rest)) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos) return sp;  // not key=value: a path or a bare value
    args[part.substr(0, eq)] = part.substr(eq + 1);
  }
  sp.args = std::move(args);
  return sp;
}

std::optional<double> ParseDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> ParseUint(const std::string& s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> ParseBytes(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) i++;
  auto num = ParseDouble(s.substr(0, i));
  if (!num || *num < 0) return std::nullopt;
  std::string unit = s.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mult = 1;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "K" || unit == "KB" || unit == "KIB") {
    mult = 1024.0;
  } else if (unit == "M" || unit == "MB" || unit == "MIB") {
    mult = 1024.0 * 1024;
  } else if (unit == "G" || unit == "GB" || unit == "GIB") {
    mult = 1024.0 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  return static_cast<uint64_t>(*num * mult);
}

std::string FormatBytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

namespace {
void Bad(const std::string& key, const std::string& v, std::string* err) {
  if (err->empty()) *err = "bad value '" + v + "' for '" + key + "'";
}
}  // namespace

double ArgDouble(const Spec& s, const std::string& key, double dflt, std::string* err) {
  auto it = s.args.find(key);
  if (it == s.args.end()) return dflt;
  auto v = ParseDouble(it->second);
  if (!v) Bad(key, it->second, err);
  return v.value_or(dflt);
}

uint64_t ArgUint(const Spec& s, const std::string& key, uint64_t dflt, std::string* err) {
  auto it = s.args.find(key);
  if (it == s.args.end()) return dflt;
  // Accept 1e6-style counts too.
  auto v = ParseUint(it->second);
  if (!v) {
    auto d = ParseDouble(it->second);
    if (d && *d >= 0) v = static_cast<uint64_t>(*d);
  }
  if (!v) Bad(key, it->second, err);
  return v.value_or(dflt);
}

uint64_t ArgBytes(const Spec& s, const std::string& key, uint64_t dflt, std::string* err) {
  auto it = s.args.find(key);
  if (it == s.args.end()) return dflt;
  auto v = ParseBytes(it->second);
  if (!v) Bad(key, it->second, err);
  return v.value_or(dflt);
}

std::string ArgString(const Spec& s, const std::string& key, const std::string& dflt) {
  auto it = s.args.find(key);
  return it == s.args.end() ? dflt : it->second;
}

}  // namespace coss::sim
