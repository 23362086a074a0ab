#include "engine/policy.h"

#include <charconv>
#include <vector>

namespace coss {

namespace {

bool ParseInt(std::string_view s, int lo, int hi, int* out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

Status Bad(const std::string& spec, const std::string& part, const std::string& why) {
  return Error(Code::kInvalidArgument,
               "policy '" + spec + "': part '" + part + "' " + why +
                   " (parts: never | always | tail:<1-100> | reinsert:<1-100>[:reset] | "
                   "admit:ghost|duel[:<1-400>], joined by '+')");
}

}  // namespace

Result<PolicySpec> ParsePolicySpec(const std::string& spec) {
  PolicySpec out;
  bool have_reloc = false;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t plus = spec.find('+', start);
    parts.push_back(spec.substr(start, plus == std::string::npos ? plus : plus - start));
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  for (const std::string& part : parts) {
    if (part.empty()) return Bad(spec, part, "is empty");
    if (part == "never" || part == "always" || part.rfind("tail:", 0) == 0) {
      if (have_reloc) return Bad(spec, part, "repeats the relocation policy");
      have_reloc = true;
      out.relocation = part;  // validated by MakeRelocationPolicy
    } else if (part.rfind("reinsert:", 0) == 0) {
      if (out.reinsertion.enabled) return Bad(spec, part, "repeats reinsertion");
      std::string_view rest = std::string_view(part).substr(9);
      if (rest.size() > 6 && rest.substr(rest.size() - 6) == ":reset") {
        out.reinsertion.reset_hits = true;
        rest.remove_suffix(6);
      }
      int b = 0;
      if (!ParseInt(rest, 1, 100, &b)) return Bad(spec, part, "needs a budget of 1-100 percent");
      out.reinsertion.enabled = true;
      out.reinsertion.budget = b / 100.0;
    } else if (part == "admit:ghost" || part.rfind("admit:ghost:", 0) == 0 ||
               part == "admit:duel" || part.rfind("admit:duel:", 0) == 0) {
      if (out.admission.ghost) return Bad(spec, part, "repeats admission");
      out.admission.ghost = true;
      out.admission.duel = part.rfind("admit:duel", 0) == 0;
      const size_t head = out.admission.duel ? 10 : 11;
      if (part.size() > head) {
        int p = 0;
        if (!ParseInt(std::string_view(part).substr(head + 1), 1, 400, &p))
          return Bad(spec, part, "needs a ghost size of 1-400 percent of live objects");
        out.admission.ghost_percent = static_cast<uint32_t>(p);
      }
    } else {
      return Bad(spec, part, "is unknown");
    }
  }
  return out;
}

}  // namespace coss
