#include "http/message.h"

namespace coss::http {

namespace {
char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}
}  // namespace

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void Fields::Add(std::string_view name, std::string_view value) {
  f_.push_back(Field{std::string(name), std::string(value)});
}

void Fields::Set(std::string_view name, std::string_view value) {
  Remove(name);
  Add(name, value);
}

size_t Fields::Remove(std::string_view name) {
  const size_t before = f_.size();
  std::erase_if(f_, [&](const Field& f) { return EqualsNoCase(f.name, name); });
  return before - f_.size();
}

size_t Fields::Count(std::string_view name) const {
  size_t n = 0;
  for (const Field& f : f_) n += EqualsNoCase(f.name, name) ? 1 : 0;
  return n;
}

std::optional<std::string_view> Fields::Get(std::string_view name) const {
  for (const Field& f : f_) {
    if (EqualsNoCase(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::optional<std::string> Fields::Combined(std::string_view name) const {
  std::optional<std::string> out;
  for (const Field& f : f_) {
    if (!EqualsNoCase(f.name, name)) continue;
    if (out) {
      out->append(", ");
      out->append(f.value);
    } else {
      out = f.value;
    }
  }
  return out;
}

bool Fields::HasToken(std::string_view name, std::string_view token) const {
  bool found = false;
  for (const Field& f : f_) {
    if (!EqualsNoCase(f.name, name)) continue;
    ForEachListElement(f.value,
                       [&](std::string_view e) { found = found || EqualsNoCase(e, token); });
  }
  return found;
}

size_t Fields::WireSize() const {
  size_t n = 0;
  for (const Field& f : f_) n += f.name.size() + f.value.size() + 4;
  return n;
}

void Fields::AppendTo(std::string* out) const {
  for (const Field& f : f_) {
    out->append(f.name);
    out->append(": ");
    out->append(f.value);
    out->append("\r\n");
  }
}

}  // namespace coss::http
