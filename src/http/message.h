// HTTP/1.1 message heads as the cache sees them (RFC 9110, RFC 9112): a
// request line or status line and an ordered list of header fields. Pure
// values, no I/O.
//
// Field names keep the case they arrived in (they are forwarded as received)
// and are compared case-insensitively. A field that appears on several lines
// keeps every line, in order; Combined() joins them with ", " as RFC 9110
// §5.3 allows for list-based fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coss::http {

// ASCII case-insensitive equality (field names, tokens, directive names).
bool EqualsNoCase(std::string_view a, std::string_view b);
// tchar (RFC 9110 §5.6.2).
bool IsTokenChar(unsigned char c);
bool IsToken(std::string_view s);
// Strips optional whitespace (SP / HTAB) from both ends.
std::string_view TrimOws(std::string_view s);

struct Field {
  std::string name;
  std::string value;
};

class Fields {
 public:
  void Add(std::string_view name, std::string_view value);
  // Replaces every line of `name` with one (appends when absent).
  void Set(std::string_view name, std::string_view value);
  // Removes every line of `name`; returns how many there were.
  size_t Remove(std::string_view name);
  size_t Count(std::string_view name) const;
  bool Has(std::string_view name) const { return Count(name) != 0; }
  // The first line's value.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Every line's value joined with ", " (empty optional when absent).
  std::optional<std::string> Combined(std::string_view name) const;
  // True if the comma-separated list in any line of `name` holds `token`
  // (case-insensitive), e.g. HasToken("Connection", "close").
  bool HasToken(std::string_view name, std::string_view token) const;

  const std::vector<Field>& all() const { return f_; }
  std::vector<Field>& all() { return f_; }
  size_t size() const { return f_.size(); }
  // Bytes the fields take as "name: value\r\n" lines.
  size_t WireSize() const;
  // Appends "name: value\r\n" for each field.
  void AppendTo(std::string* out) const;

 private:
  std::vector<Field> f_;
};

struct RequestHead {
  std::string method;
  std::string target;     // as received (origin-form or absolute-form)
  int version_minor = 1;  // HTTP/1.<minor>
  Fields fields;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int version_minor = 1;
  Fields fields;
};

// Calls f(element) for each non-empty element of a comma-separated list,
// trimmed of whitespace. Quoted strings are kept whole (a comma inside one
// does not split).
template <typename F>
void ForEachListElement(std::string_view list, F&& f) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= list.size(); i++) {
    if (i < list.size()) {
      const char c = list[i];
      if (quoted && c == '\\') {
        i++;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (quoted || c != ',') continue;
    }
    std::string_view e = TrimOws(list.substr(start, i - start));
    if (!e.empty()) f(e);
    start = i + 1;
  }
}

}  // namespace coss::http
