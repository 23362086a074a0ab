#include "http/cache_control.h"

#include <string>

namespace coss::http {

std::optional<int64_t> ParseDeltaSeconds(std::string_view s) {
  if (s.empty()) return {};
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return {};
    if (v < kMaxDelta) v = v * 10 + (c - '0');
  }
  return v > kMaxDelta ? kMaxDelta : v;
}

namespace {

// "name", "name=token" or "name=\"quoted\"" -> name and unquoted argument.
void SplitDirective(std::string_view d, std::string_view* name, std::string* arg, bool* has_arg) {
  const size_t eq = d.find('=');
  *has_arg = eq != std::string_view::npos;
  *name = TrimOws(d.substr(0, eq));
  arg->clear();
  if (!*has_arg) return;
  std::string_view v = TrimOws(d.substr(eq + 1));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
    for (size_t i = 0; i < v.size(); i++) {
      if (v[i] == '\\' && i + 1 < v.size()) i++;
      arg->push_back(v[i]);
    }
    return;
  }
  arg->assign(v);
}

// Sets *slot from a delta-seconds argument; a missing, invalid or conflicting
// value sets *invalid.
void Delta(bool has_arg, const std::string& arg, std::optional<int64_t>* slot, bool* invalid) {
  const auto v = has_arg ? ParseDeltaSeconds(arg) : std::nullopt;
  if (!v || (*slot && **slot != *v)) {
    *invalid = true;
    return;
  }
  *slot = v;
}

}  // namespace

CacheControl ParseCacheControl(const Fields& fields) {
  CacheControl cc;
  std::string arg;
  bool ignored = false;
  for (const Field& f : fields.all()) {
    if (!EqualsNoCase(f.name, "Cache-Control")) continue;
    ForEachListElement(f.value, [&](std::string_view d) {
      std::string_view name;
      bool has_arg;
      SplitDirective(d, &name, &arg, &has_arg);
      if (EqualsNoCase(name, "no-store")) {
        cc.no_store = true;
      } else if (EqualsNoCase(name, "no-cache")) {
        cc.no_cache = true;
      } else if (EqualsNoCase(name, "private")) {
        cc.is_private = true;
      } else if (EqualsNoCase(name, "public")) {
        cc.is_public = true;
      } else if (EqualsNoCase(name, "must-revalidate")) {
        cc.must_revalidate = true;
      } else if (EqualsNoCase(name, "proxy-revalidate")) {
        cc.proxy_revalidate = true;
      } else if (EqualsNoCase(name, "must-understand")) {
        cc.must_understand = true;
      } else if (EqualsNoCase(name, "max-age")) {
        Delta(has_arg, arg, &cc.max_age, &cc.max_age_invalid);
      } else if (EqualsNoCase(name, "s-maxage")) {
        Delta(has_arg, arg, &cc.s_maxage, &cc.s_maxage_invalid);
      } else if (EqualsNoCase(name, "stale-while-revalidate")) {
        Delta(has_arg, arg, &cc.stale_while_revalidate, &ignored);
      } else if (EqualsNoCase(name, "stale-if-error")) {
        Delta(has_arg, arg, &cc.stale_if_error, &ignored);
      } else if (EqualsNoCase(name, "min-fresh")) {
        Delta(has_arg, arg, &cc.min_fresh, &ignored);
      } else if (EqualsNoCase(name, "max-stale")) {
        cc.max_stale = true;
        if (has_arg) {
          bool bad = false;
          Delta(true, arg, &cc.max_stale_limit, &bad);
          if (bad) cc.max_stale_limit = 0;  // a malformed limit allows nothing stale
        }
      } else if (EqualsNoCase(name, "only-if-cached")) {
        cc.only_if_cached = true;
      }
    });
  }
  // A conflicting or malformed value leaves no usable one behind.
  if (cc.max_age_invalid) cc.max_age.reset();
  if (cc.s_maxage_invalid) cc.s_maxage.reset();
  return cc;
}

}  // namespace coss::http
