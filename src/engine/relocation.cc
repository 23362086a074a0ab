#include "engine/relocation.h"

#include <charconv>

namespace coss {

namespace {

class Never final : public RelocationPolicy {
 public:
  bool ShouldRelocate(const RelocationContext&) const override { return false; }
  std::string Name() const override { return "never"; }
};

class Always final : public RelocationPolicy {
 public:
  bool ShouldRelocate(const RelocationContext&) const override { return true; }
  std::string Name() const override { return "always"; }
};

// Relocate only what the write head will reach soon: bounded write
// amplification (at most the tail fraction of the ring is ever re-written per lap).
class Tail final : public RelocationPolicy {
 public:
  explicit Tail(int percent) : percent_(percent), threshold_(1.0 - percent / 100.0) {}
  bool ShouldRelocate(const RelocationContext& c) const override { return c.age >= threshold_; }
  std::string Name() const override { return "tail:" + std::to_string(percent_); }

 private:
  int percent_;
  double threshold_;
};

}  // namespace

Result<std::unique_ptr<RelocationPolicy>> MakeRelocationPolicy(const std::string& spec) {
  if (spec == "never") return std::unique_ptr<RelocationPolicy>(new Never);
  if (spec == "always") return std::unique_ptr<RelocationPolicy>(new Always);
  if (spec.rfind("tail:", 0) == 0) {
    int p = 0;
    const char* b = spec.data() + 5;
    const char* e = spec.data() + spec.size();
    auto [ptr, ec] = std::from_chars(b, e, p);
    if (ec == std::errc() && ptr == e && p >= 1 && p <= 100)
      return std::unique_ptr<RelocationPolicy>(new Tail(p));
  }
  return Error(Code::kInvalidArgument,
               "relocation policy '" + spec + "' is not one of: never, always, tail:<1-100>");
}

}  // namespace coss
