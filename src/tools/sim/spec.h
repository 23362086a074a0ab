// Spec strings for `coss sim` command-line values.
//
//   workload:   "kind:key=value,key=value"  (e.g. "zipf:alpha=0.8,objects=1000000")
//               "kind:PATH"                  (oracle:, twitter:) — the rest is a path
//   byte sizes: "4096", "64K", "512KiB", "1M", "2G" (binary multiples)
//   lists:      comma-separated
//
// Parse errors are returned as messages (empty = ok), never thrown.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace coss::sim {

struct Spec {
  std::string kind;
  std::string rest;                         // everything after the first ':'
  std::map<std::string, std::string> args;  // rest parsed as key=value pairs
};

// Splits "kind:rest"; parses rest into args when every comma-separated part
// has an '='.
Spec ParseSpec(const std::string& s);

std::vector<std::string> SplitList(const std::string& s, char sep = ',');

std::optional<uint64_t> ParseBytes(const std::string& s);
std::optional<double> ParseDouble(const std::string& s);
std::optional<uint64_t> ParseUint(const std::string& s);

// "1.5 GiB"-style rendering for tables.
std::string FormatBytes(uint64_t b);

// Typed accessors over Spec::args with defaults; the first bad value is
// recorded in *err (kept when already set) and the default returned.
double ArgDouble(const Spec& s, const std::string& key, double dflt, std::string* err);
uint64_t ArgUint(const Spec& s, const std::string& key, uint64_t dflt, std::string* err);
uint64_t ArgBytes(const Spec& s, const std::string& key, uint64_t dflt, std::string* err);
std::string ArgString(const Spec& s, const std::string& key, const std::string& dflt);

}  // namespace coss::sim
