// Json: a minimal streaming JSON writer for the tools' --json output (objects,
// arrays, strings, integers, doubles, null). Callers keep the nesting right;
// commas and string escaping are handled here. Non-finite doubles become null.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace coss::tools {

class Json {
 public:
  Json& BeginObject() { return Open('{'); }
  Json& EndObject() { return Close('}'); }
  Json& BeginArray() { return Open('['); }
  Json& EndArray() { return Close(']'); }
  Json& Key(std::string_view k) {
    Sep();
    Quote(k);
    s_ += ':';
    after_key_ = true;
    return *this;
  }
  Json& String(std::string_view v) {
    Sep();
    Quote(v);
    return *this;
  }
  Json& Uint(uint64_t v) {
    Sep();
    s_ += std::to_string(v);
    return *this;
  }
  Json& Int(int64_t v) {
    Sep();
    s_ += std::to_string(v);
    return *this;
  }
  Json& Double(double v) {
    Sep();
    if (!std::isfinite(v)) {
      s_ += "null";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", v);
      s_ += buf;
    }
    return *this;
  }
  Json& Bool(bool v) {
    Sep();
    s_ += v ? "true" : "false";
    return *this;
  }
  // A number literal the caller has already checked is valid JSON.
  Json& Raw(std::string_view number) {
    Sep();
    s_ += number;
    return *this;
  }
  Json& Null() {
    Sep();
    s_ += "null";
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  Json& Open(char c) {
    Sep();
    s_ += c;
    first_.push_back(true);
    return *this;
  }
  Json& Close(char c) {
    s_ += c;
    first_.pop_back();
    return *this;
  }
  void Sep() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) s_ += ',';
      first_.back() = false;
    }
  }
  void Quote(std::string_view v) {
    s_ += '"';
    for (unsigned char c : v) {
      switch (c) {
        case '"':
          s_ += "\\\"";
          break;
        case '\\':
          s_ += "\\\\";
          break;
        case '\n':
          s_ += "\\n";
          break;
        case '\r':
          s_ += "\\r";
          break;
        case '\t':
          s_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            s_ += buf;
          } else {
            s_ += static_cast<char>(c);
          }
      }
    }
    s_ += '"';
  }
  std::string s_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace coss::tools
